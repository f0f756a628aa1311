"""The layer rules of the design (docs/architecture.md) hold in the source tree.

``cli`` may import everything; ``plugins`` import the core and ``kg``; ``distill``
imports the core only; ``kg`` imports the core only; the core imports nothing of
ctk above it. Every import statement counts, including ones inside functions and
under ``TYPE_CHECKING``: a layer that names another depends on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Folder -> (its package, the ctk packages it must not import).
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "toolkit": ("ctk", ("ctk.kg", "ctk.plugins", "ctk.distill", "ctk.view", "ctk.cli")),
    "kg": ("ctk.kg", ("ctk.plugins", "ctk.distill", "ctk.view", "ctk.cli")),
    "distill": ("ctk.distill", ("ctk.kg", "ctk.plugins", "ctk.view", "ctk.cli")),
    "plugins": ("ctk.plugins", ("ctk.distill", "ctk.view", "ctk.cli")),
    "view": ("ctk.view", ("ctk.plugins", "ctk.cli")),
    "cli": ("ctk.cli", ()),
}


def imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def violations(folder: str) -> list[str]:
    """Imports in ``folder`` that break its layer rule, as ``file:line -> module``."""
    root_package, forbidden = RULES[folder]
    out: list[str] = []
    root = REPO / folder
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        package = ".".join([root_package, *rel.parent.parts])
        for line, module in imported_modules(path, package):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{folder}/{rel}:{line} -> {module}")
    return sorted(set(out))


@pytest.mark.parametrize("folder", sorted(RULES))
def test_layer_rule(folder: str) -> None:
    assert violations(folder) == [], f"{folder} imports a layer above it"


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ctk.kg.stores.base import GraphStore\n"
        "def f():\n"
        "    import ctk.plugins.retrievers.graph\n"
        "    from ..kg import matching\n",
        encoding="utf-8",
    )
    modules = [m for _, m in imported_modules(bad, "ctk.teacher")]
    assert "ctk.kg.stores.base" in modules
    assert "ctk.plugins.retrievers.graph" in modules
    assert "ctk.kg.matching" in modules


def environment_reads(folder: str) -> list[str]:
    """Places in ``folder`` that read the environment (``os.environ``, ``os.getenv``,
    ``CtkSettings()``): only the CLI may, and the settings module that defines them."""
    out: list[str] = []
    root = REPO / folder
    for path in sorted(root.rglob("*.py")):
        if path == REPO / "toolkit" / "settings.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            hit = (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in {"environ", "getenv"}
            ) or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "CtkSettings"
            )
            if hit:
                out.append(f"{folder}/{path.relative_to(root)}:{getattr(node, 'lineno', 0)}")
    return out


@pytest.mark.parametrize("folder", ["toolkit", "kg", "plugins", "distill", "view"])
def test_only_the_cli_reads_the_environment(folder: str) -> None:
    assert environment_reads(folder) == [], "read settings in cli/ and pass them down typed"


def test_settings_are_typed_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from ctk.settings import CtkSettings

    monkeypatch.setenv("CTK_NEO4J_USER", "neo")
    monkeypatch.setenv("CTK_NEO4J_PASSWORD", "s3cret")
    monkeypatch.setenv("CTK_NEO4J_DATABASE", "")
    monkeypatch.delenv("CTK_OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    s = CtkSettings()
    assert s.neo4j_user == "neo" and s.neo4j_database is None  # empty means unset
    assert s.neo4j_password is not None and s.neo4j_password.get_secret_value() == "s3cret"
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-fallback"
    assert "s3cret" not in repr(s) and "sk-fallback" not in repr(s)


def test_the_registry_loads_no_teacher_module() -> None:
    """Registering the LLM backend kind needs its base class only (``ctk.llm``)."""
    import subprocess
    import sys

    code = (
        "import sys, ctk.registry\n"
        "print(sorted(m for m in sys.modules if m == 'ctk.teacher' or "
        "m.startswith('ctk.teacher.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", f"import ctk.registry loaded {out}"


def test_the_old_backend_path_still_names_the_core_class() -> None:
    from ctk.llm import LLMBackend
    from ctk.teacher.backend import LLMBackend as OldPath

    assert OldPath is LLMBackend
