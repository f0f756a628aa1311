"""The layer rules hold, as import-linter's contracts in pyproject.toml state them.

The rules live in one place, ``[tool.importlinter]``: layers ``cli > (view) | plugins
> distill | kg > the core`` (every core module named, so a new one must be placed),
plugins without the student, and no import cycle between the siblings of any
package. ``tools/lint-imports.sh`` checks them (grimp reads every import, inside
functions and under ``TYPE_CHECKING`` too); these tests run it on the tree, show it
fails on a planted upward import and a planted cycle (in a copy), check the table of
docs/architecture.md against the contracts, and keep two rules import-linter cannot
state: only the CLI reads the environment, and no ``importlib`` load of a ctk module.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("toolkit", "kg", "plugins", "distill", "cli", "view")
#: Folder of each layer's package.
PACKAGE_FOLDERS = {
    "cli": "cli",
    "view": "view",
    "plugins": "plugins",
    "distill": "distill",
    "kg": "kg",
}


def lint_imports(root: Path = REPO) -> subprocess.CompletedProcess[str]:
    """``tools/lint-imports.sh`` over a source tree."""
    return subprocess.run(
        ["bash", str(REPO / "tools" / "lint-imports.sh"), str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_import_contracts_hold() -> None:
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in done.stdout


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The library's source files (no data) and pyproject.toml, in a temp folder."""
    for folder in FOLDERS:
        if (REPO / folder).is_dir():
            shutil.copytree(
                REPO / folder,
                tmp_path / folder,
                ignore=lambda _d, names: [n for n in names if not n.endswith(".py") and "." in n],
            )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _plant(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")


def test_a_planted_upward_import_breaks_the_layers(tree_copy: Path) -> None:
    assert lint_imports(tree_copy).returncode == 0  # the copy itself is clean
    _plant(tree_copy / "toolkit" / "records.py", "from ctk.kg import build as _planted")
    done = lint_imports(tree_copy)
    assert done.returncode != 0
    assert "Layers: cli > view | plugins > distill | kg > the core BROKEN" in done.stdout
    assert "ctk.records -> ctk.kg.build" in done.stdout


def test_a_planted_cycle_breaks_the_acyclic_contract(tree_copy: Path) -> None:
    # ctk.kg.build imports ctk.kg.chunk; the chunk importing the build back is a cycle
    _plant(tree_copy / "kg" / "chunk.py", "from ctk.kg import build as _planted")
    done = lint_imports(tree_copy)
    assert done.returncode != 0
    assert "No import cycle between the siblings of any package BROKEN" in done.stdout
    assert "No cycles are allowed in ctk.kg" in done.stdout


def test_an_import_hidden_in_a_function_counts(tree_copy: Path) -> None:
    _plant(
        tree_copy / "plugins" / "retrievers" / "graph.py",
        "def _planted() -> None:\n    from ctk.distill import config  # noqa",
    )
    done = lint_imports(tree_copy)
    assert done.returncode != 0
    assert "Plugins do not import the student (distill) BROKEN" in done.stdout


def test_the_view_layer_is_optional_and_placed(tree_copy: Path) -> None:
    """The viewer (``view/`` = ``ctk.view``) is optional: the contracts hold without it;
    it may import kg and distill, not plugins; nothing below it may import it."""
    shutil.rmtree(tree_copy / "view", ignore_errors=True)
    assert lint_imports(tree_copy).returncode == 0  # before the viewer landed
    view = tree_copy / "view"
    view.mkdir()
    (view / "__init__.py").write_text(
        "from ctk.kg import build\nfrom ctk.distill import config\n", encoding="utf-8"
    )
    assert lint_imports(tree_copy).returncode == 0
    _plant(tree_copy / "kg" / "facts.py", "import ctk.view as _planted")
    done = lint_imports(tree_copy)
    assert done.returncode != 0 and "ctk.kg.facts -> ctk.view" in done.stdout
    (view / "__init__.py").write_text("from ctk.plugins import retrievers\n", encoding="utf-8")
    done = lint_imports(tree_copy)
    assert done.returncode != 0 and "ctk.view -> ctk.plugins" in done.stdout


def _contracts() -> list[dict[str, Any]]:
    with (REPO / "pyproject.toml").open("rb") as f:
        config = tomllib.load(f)
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def layer_table() -> str:
    """The markdown table of docs/architecture.md, rendered from the contracts."""
    layers_contract = next(c for c in _contracts() if c["type"] == "layers")
    forbidden = {
        (src, bad)
        for c in _contracts()
        if c["type"] == "forbidden"
        for src in c["source_modules"]
        for bad in c["forbidden_modules"]
    }
    layers: list[list[str]] = []
    for layer in layers_contract["layers"][:-1]:  # the last one is the core
        names = [n.strip().strip("()") for n in layer.replace(":", "|").split("|")]
        layers.append(names)
    rows = [
        "| folder | package | may import |",
        "|---|---|---|",
    ]
    for i, names in enumerate(layers):
        below = [f"ctk.{n}" for lower in layers[i + 1 :] for n in lower]
        for name in names:
            allowed = [b for b in below if (f"ctk.{name}", b) not in forbidden]
            optional = " (optional)" if f"({name})" in layers_contract["layers"][i] else ""
            may = ", ".join(f"`{a}`" for a in allowed)
            rows.append(
                f"| `{PACKAGE_FOLDERS[name]}/`{optional} | `ctk.{name}` | "
                + (f"{may}, the core" if may else "the core")
                + " |"
            )
    rows.append("| `toolkit/` | `ctk` (the core) | nothing of ctk above it |")
    return "\n".join(rows)


def test_the_docs_table_matches_the_contracts() -> None:
    table = layer_table()
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert table in doc, f"docs/architecture.md's layer table should read:\n{table}"


def test_every_core_module_is_in_the_core_layer() -> None:
    layers_contract = next(c for c in _contracts() if c["type"] == "layers")
    core = {n.strip() for n in layers_contract["layers"][-1].split(":")}
    on_disk = {
        p.stem if p.is_file() else p.name
        for p in (REPO / "toolkit").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert on_disk == core


def dynamic_ctk_imports(root: Path) -> list[str]:
    """``importlib.import_module("ctk...")`` / ``__import__("ctk...")`` calls: layer
    edges no static tool sees."""
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if (
                name in {"import_module", "__import__"}
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and arg.value.split(".")[0] == "ctk"
            ):
                out.append(f"{root.name}/{path.relative_to(root)}:{node.lineno}")
    return out


@pytest.mark.parametrize("folder", ["toolkit", "kg", "plugins", "distill", "view", "cli"])
def test_no_dynamic_import_of_a_ctk_module(folder: str) -> None:
    assert dynamic_ctk_imports(REPO / folder) == [], "import ctk modules with an import statement"


def test_the_dynamic_import_check_catches_one(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "import importlib\nm = importlib.import_module('ctk.kg.build')\n"
        "n = __import__('ctk.plugins')\nok = importlib.import_module('langchain_openai')\n",
        encoding="utf-8",
    )
    assert dynamic_ctk_imports(tmp_path) == [
        f"{tmp_path.name}/bad.py:2",
        f"{tmp_path.name}/bad.py:3",
    ]


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
