"""Import an EHR source into a cohort folder (what ``ctk data import`` runs).

The format name picks an :class:`~ctk.ehr.sources.EHRSource` from the registry
:data:`~ctk.ehr.sources.EHR_SOURCES`, so a new format is one class and one
registration (see :mod:`ctk.ehr.sources`), not an edit here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ctk.cohort import ADMISSIONS_FILE, CohortManifest, CohortWriter
from ctk.ehr.sources import EHR_SOURCES, EHRSource, SourceOptions
from ctk.errors import ConfigError, DataError, PluginNotFoundError
from ctk.records import Admission
from ctk.report import ProblemReport

__all__ = ["EHR_SOURCES", "EHRSource", "SourceOptions", "import_cohort", "iter_source", "source"]

logger = logging.getLogger(__name__)


def source(source_format: str) -> EHRSource:
    """The source of a format name (:data:`~ctk.ehr.sources.EHR_SOURCES`).

    Raises:
        ConfigError: No source of that name; the hint lists the installed ones.
    """
    try:
        return EHR_SOURCES.create(source_format)
    except PluginNotFoundError:
        raise ConfigError(
            f"unknown source format {source_format!r}",
            hint=f"use one of: {', '.join(EHR_SOURCES.names())}",
        ) from None


def iter_source(
    source_format: str,
    path: str | Path,
    *,
    report: ProblemReport,
    details: dict[str, Any],
    options: SourceOptions | None = None,
) -> Iterator[Admission]:
    """Yield the admissions of a source with the loader its format names.

    Raises:
        ConfigError: Unknown format, or an option the format does not take.
        DataError: ``path`` does not exist.
    """
    reader = source(source_format)
    opts = options or SourceOptions()
    if opts.max_hours < 1:
        raise ConfigError(f"max_hours must be at least 1, got {opts.max_hours}")
    if opts.chunksize < 1:
        raise ConfigError(f"chunksize must be at least 1, got {opts.chunksize}")
    reader.check_options(opts)
    if not Path(path).exists():
        raise DataError(f"{path} does not exist", hint="check the path of the source data")
    return reader.admissions(Path(path), opts, report=report, details=details)


def import_cohort(
    source_format: str,
    path: str | Path,
    out: str | Path,
    *,
    report: ProblemReport | None = None,
    overwrite: bool = False,
    compress: bool = False,
    on_admission: Callable[[Admission], None] | None = None,
    options: SourceOptions | None = None,
) -> CohortManifest:
    """Read a source and write it as a cohort folder, with the problem report in the manifest.

    Args:
        source_format: ``mimic3-benchmark``, ``mimic3``, ``mimic4`` or another
            registered format (:data:`~ctk.ehr.sources.EHR_SOURCES`).
        path: The source folder.
        out: The cohort folder to write.
        report: Problem report to fill (a new one when None); stored in the manifest.
        overwrite: Replace an existing cohort in ``out``.
        compress: Write ``admissions.jsonl.gz``.
        on_admission: Called after each admission is written (progress).
        options: How the source is read (:class:`SourceOptions`).

    Returns:
        The manifest written.

    Raises:
        ConfigError: Unknown format, an option the format does not take, or ``out``
            holds a cohort and not ``overwrite``.
        DataError: The source cannot be read (see the loaders).

    Example:
        >>> import_cohort("mimic3-benchmark", "synth", "cohort")  # doctest: +SKIP
    """
    out = Path(out)
    if not overwrite and any(
        (out / name).exists() for name in (ADMISSIONS_FILE, ADMISSIONS_FILE + ".gz")
    ):
        raise ConfigError(
            f"{out} already holds a cohort", hint="choose another --out or pass --overwrite"
        )
    opts = options or SourceOptions()
    if source_format == "mimic3-benchmark":
        opts = opts.model_copy(update={"on_table": None})  # the benchmark reads no big tables
    report = report if report is not None else ProblemReport()
    details: dict[str, Any] = {}
    admissions = iter_source(source_format, path, report=report, details=details, options=opts)
    for name in (ADMISSIONS_FILE, ADMISSIONS_FILE + ".gz"):
        stale = out / name
        if stale.exists() and name.endswith(".gz") != compress:
            stale.unlink()  # overwrite: the other spelling would shadow the new cohort
    with CohortWriter(out, source=source_format, compress=compress) as writer:
        for admission in admissions:
            writer.write(admission)
            if on_admission is not None:
                on_admission(admission)
        writer.manifest.problems = report.as_dict()
        writer.manifest.details = {
            "input": str(Path(path).resolve()),
            "max_hours": opts.max_hours,
            **{k: v for k, v in details.items()},
        }
    logger.info(
        "imported %d admissions from %s (%d problems)",
        writer.manifest.admissions,
        source_format,
        report.total,
    )
    return writer.manifest
