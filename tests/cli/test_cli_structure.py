"""The CLI stays thin and mounts its commands in one style (issue 20).

Every command is a short function over a library call (at most 50 lines of body
after its docstring); group modules are mounted by plain imports, so a command
module that fails to import breaks ``ctk`` loudly instead of silently dropping
the command; no module imports another's private names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "cli"
MOST_LINES = 50


def _body_lines(fn: ast.FunctionDef) -> int:
    body = fn.body
    has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    first = body[1] if has_doc and len(body) > 1 else body[0]
    return (fn.end_lineno or first.lineno) - first.lineno + 1


def _commands() -> list[tuple[str, ast.FunctionDef]]:
    """Public functions of cli/*.py that take typer options (the commands)."""
    found = []
    for path in sorted(CLI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            args = ast.unparse(node.args)  # typer.Option(...) or a shared XxxOpt alias
            if "typer.Option" in args or "typer.Argument" in args or "Opt" in args:
                found.append((f"{path.name}:{node.name}", node))
    return found


def test_commands_are_found() -> None:
    names = {name for name, _ in _commands()}
    assert {"kg_build.py:build", "kg_inspect.py:query", "rationale.py:generate"} <= names


@pytest.mark.parametrize("name", [n for n, _ in _commands()])
def test_every_command_body_is_short(name: str) -> None:
    fn = dict(_commands())[name]
    assert _body_lines(fn) <= MOST_LINES, f"{name}: move the logic into the library"


@pytest.mark.parametrize("module", ["main.py", "kg.py"])
def test_command_modules_are_mounted_by_plain_import(module: str) -> None:
    tree = ast.parse((CLI / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            caught = ast.unparse(node.type) if node.type else "everything"
            assert "ImportError" not in caught and "ModuleNotFoundError" not in caught, (
                f"{module} hides an import failure"
            )
        if isinstance(node, ast.Call):
            assert ast.unparse(node.func) not in {"importlib.import_module", "__import__"}


def test_no_private_import_across_modules() -> None:
    bad = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ctk."):
                bad += [
                    f"{path.name}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert bad == []


def test_a_broken_command_module_breaks_the_cli(tmp_path: Path) -> None:
    """What a plain import gives: the error, not a ctk without the command."""
    import subprocess
    import sys

    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def fake(name, *a, **k):\n"
        "    if name == 'ctk.cli.kg_load' or (a and a[2] and 'kg_load' in a[2]):\n"
        "        raise ImportError('planted')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = fake\n"
        "import ctk.cli.main\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0 and "planted" in done.stderr
