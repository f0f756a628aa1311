"""Import an EHR source into a cohort folder (what ``ctk data import`` runs)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ctk.cohort import ADMISSIONS_FILE, CohortManifest, CohortWriter
from ctk.ehr.resample import DEFAULT_MAX_HOURS
from ctk.errors import ConfigError, DataError
from ctk.records import Admission
from ctk.report import ProblemReport

__all__ = ["FORMATS", "SourceOptions", "import_cohort", "iter_source"]

logger = logging.getLogger(__name__)

#: Source formats ``import_cohort`` reads.
FORMATS: tuple[str, ...] = ("mimic3-benchmark", "mimic3", "mimic4")


def iter_source(
    source_format: str,
    path: str | Path,
    *,
    report: ProblemReport,
    details: dict[str, Any],
    max_hours: int = DEFAULT_MAX_HOURS,
    chunksize: int = 200_000,
    notes: str | Path | None = None,
    stays_root: str | Path | None = None,
    note_root: str | Path | None = None,
    testset: str | Path | None = None,
    cohort: str | None = None,
    on_table: Callable[[Path], None] | None = None,
) -> Iterator[Admission]:
    """Yield the admissions of a source with the loader its format names.

    Raises:
        ConfigError: Unknown format, or an option the format does not take.
    """
    if source_format not in FORMATS:
        raise ConfigError(
            f"unknown source format {source_format!r}",
            hint=f"use one of: {', '.join(FORMATS)}",
        )
    if max_hours < 1:
        raise ConfigError(f"max_hours must be at least 1, got {max_hours}")
    if chunksize < 1:
        raise ConfigError(f"chunksize must be at least 1, got {chunksize}")
    misplaced = {
        "--notes/--stays-root": (notes is not None or stays_root is not None)
        and source_format != "mimic3-benchmark",
        "--note-root": note_root is not None and source_format != "mimic4",
        "--testset": testset is not None and source_format == "mimic3-benchmark",
        "--cohort": cohort is not None and source_format != "mimic3",
    }
    for option, bad in misplaced.items():
        if bad:
            raise ConfigError(f"{option} does not apply to --format {source_format}")
    if not Path(path).exists():
        raise DataError(f"{path} does not exist", hint="check the path of the source data")
    loader: Iterator[Admission]
    if source_format == "mimic3-benchmark":
        from ctk.ehr.benchmark import load_benchmark

        loader = load_benchmark(
            path, report=report, notes=notes, stays_root=stays_root, max_hours=max_hours
        )
    elif source_format == "mimic3":
        from ctk.ehr.mimic3 import load_mimic3

        loader = load_mimic3(
            path,
            report=report,
            chunksize=chunksize,
            max_hours=max_hours,
            testset=testset,
            cohort=cohort or "benchmark",
            details=details,
            on_table=on_table,
        )
    else:
        from ctk.ehr.mimic4 import load_mimic4

        loader = load_mimic4(
            path,
            report=report,
            note_root=note_root,
            chunksize=chunksize,
            max_hours=max_hours,
            testset=testset,
            details=details,
            on_table=on_table,
        )
    return loader


class SourceOptions(BaseModel):
    """How a source is read (``ctk data import`` flags); each applies to some formats.

    Attributes:
        max_hours: Hours of labs kept per admission.
        chunksize: Rows per chunk when streaming big CSV tables (raw MIMIC).
        notes: Notes CSV of the benchmark's admissions (``mimic3-benchmark``).
        stays_root: The benchmark's per-subject stay folders (``mimic3-benchmark``).
        note_root: MIMIC-IV-Note folder (``mimic4``).
        testset: A ``subject_id,0|1`` test subject list (wide cohorts of ``mimic3``,
            and ``mimic4``).
        cohort: ``mimic3`` only: ``benchmark`` (the MIMIC-III benchmark's phenotyping
            cohort; the default when None) or ``wide``.
        on_table: Called when a raw table starts being read (progress).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    max_hours: int = DEFAULT_MAX_HOURS
    chunksize: int = 200_000
    notes: Path | None = None
    stays_root: Path | None = None
    note_root: Path | None = None
    testset: Path | None = None
    cohort: str | None = None
    on_table: Callable[[Path], None] | None = None


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
        source_format: ``mimic3-benchmark``, ``mimic3`` or ``mimic4``.
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
    admissions = iter_source(
        source_format,
        path,
        report=report,
        details=details,
        **{k: getattr(opts, k) for k in SourceOptions.model_fields},
    )
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
