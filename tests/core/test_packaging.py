"""The package layout maps the design card's folders into one `ctk` namespace."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_folder_is_listed() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    package_dir: dict[str, str] = setuptools["package-dir"]
    listed = set(setuptools["packages"])
    found: set[str] = set()
    for name, folder in package_dir.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"
    assert listed - found == set(), "these listed packages have no folder"


def test_torch_is_pinned() -> None:
    deps = _pyproject()["project"]["dependencies"]  # type: ignore[index]
    assert "torch==2.13.0" in deps


def test_entry_point_targets_exist() -> None:
    import importlib.util

    groups = _pyproject()["project"]["entry-points"]  # type: ignore[index]
    for group, entries in groups.items():
        for name, target in entries.items():
            module = target.split(":")[0]
            assert importlib.util.find_spec(module) is not None, f"{group}:{name} -> {module}"
