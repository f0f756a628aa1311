"""EHR sources by format name: one class per format, one registry, entry points.

A source format (``mimic3-benchmark``, ``mimic3``, ``mimic4``, or one of your own)
is an :class:`EHRSource` subclass that turns a folder into :class:`~ctk.records.Admission`
records. :data:`EHR_SOURCES` finds them by name: ctk's built-ins are declared under
the entry-point group ``ctk.ehr_sources`` in its own ``pyproject.toml``, exactly as
a source shipped in another package is; ``EHR_SOURCES.register("mine", Mine)`` adds
one in this process (tests, notebooks). :func:`ctk.ehr.importer.import_cohort` and
``ctk data import --format NAME`` read any registered format.

Example:
    >>> class Toy(EHRSource):  # doctest: +SKIP
    ...     name = "toy"
    ...     def admissions(self, path, options, *, report, details):
    ...         yield from read_my_files(path)
    >>> EHR_SOURCES.register("toy", Toy)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ctk.ehr.benchmark import load_benchmark
from ctk.ehr.mimic3 import load_mimic3
from ctk.ehr.mimic4 import load_mimic4
from ctk.ehr.resample import DEFAULT_MAX_HOURS
from ctk.errors import ConfigError
from ctk.records import Admission
from ctk.registry import Registry
from ctk.report import ProblemReport

__all__ = [
    "EHR_SOURCES",
    "BenchmarkSource",
    "EHRSource",
    "Mimic3Source",
    "Mimic4Source",
    "SourceOptions",
]


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


#: The options every format takes.
COMMON_OPTIONS = frozenset({"max_hours", "chunksize", "on_table"})
#: The flag of each format-specific option, for error messages.
_FLAGS = {
    "notes": "--notes",
    "stays_root": "--stays-root",
    "note_root": "--note-root",
    "testset": "--testset",
    "cohort": "--cohort",
}


class EHRSource:
    """A format of EHR data: a folder in, :class:`~ctk.records.Admission` records out.

    Subclasses set :attr:`name` and, when they read format-specific options,
    :attr:`options_taken`; they implement :meth:`admissions`, or :meth:`loader` when
    one function reads the format.
    """

    #: The format's name (``--format``).
    name: ClassVar[str]
    #: The :class:`SourceOptions` fields it reads besides ``max_hours``,
    #: ``chunksize`` and ``on_table``; setting another is refused.
    options_taken: ClassVar[frozenset[str]] = frozenset()

    def check_options(self, options: SourceOptions) -> None:
        """Refuse an option this format does not read.

        Raises:
            ConfigError: An option is set that the format does not take.
        """
        for key in sorted(options.model_fields_set - COMMON_OPTIONS - self.options_taken):
            if getattr(options, key) is not None:
                flag = _FLAGS.get(key, key)
                raise ConfigError(f"{flag} does not apply to --format {self.name}")

    #: The common options :meth:`loader` takes.
    common_options: ClassVar[tuple[str, ...]] = ("max_hours", "chunksize", "on_table")
    #: Whether :meth:`loader` fills ``details`` for the manifest.
    fills_details: ClassVar[bool] = True

    def admissions(
        self,
        path: Path,
        options: SourceOptions,
        *,
        report: ProblemReport,
        details: dict[str, Any],
    ) -> Iterator[Admission]:
        """The admissions of the source at ``path``.

        The default calls :meth:`loader` with ``report=`` and the options this format
        takes (:attr:`common_options`, :attr:`options_taken`; one left at None is not
        passed, so the loader's default applies). A source that is not one loader
        function overrides this instead.

        Args:
            path: The source folder (it exists).
            options: How to read it (already checked by :meth:`check_options`).
            report: Collects skipped rows and repaired values.
            details: Filled with counts for the cohort manifest.
        """
        names = (*self.common_options, *sorted(self.options_taken))
        kwargs = {n: getattr(options, n) for n in names if getattr(options, n) is not None}
        if self.fills_details:
            kwargs["details"] = details
        return self.loader()(path, report=report, **kwargs)

    def loader(self) -> Callable[..., Iterator[Admission]]:
        """The loader function :meth:`admissions` calls (``(path, report=..., **options)``).

        Raises:
            NotImplementedError: The source overrides neither this nor :meth:`admissions`.
        """
        raise NotImplementedError(f"{type(self).__name__} must define loader() or admissions()")


class BenchmarkSource(EHRSource):
    """The MIMIC-III benchmark's preprocessed folders (``train/``, ``test/``)."""

    name: ClassVar[str] = "mimic3-benchmark"
    options_taken: ClassVar[frozenset[str]] = frozenset({"notes", "stays_root"})
    common_options: ClassVar[tuple[str, ...]] = ("max_hours",)
    fills_details: ClassVar[bool] = False

    def loader(self) -> Callable[..., Iterator[Admission]]:
        """:func:`ctk.ehr.benchmark.load_benchmark`."""
        return load_benchmark


class Mimic3Source(EHRSource):
    """Raw MIMIC-III tables (the benchmark's cohort by default, or the wide one)."""

    name: ClassVar[str] = "mimic3"
    options_taken: ClassVar[frozenset[str]] = frozenset({"testset", "cohort"})

    def loader(self) -> Callable[..., Iterator[Admission]]:
        """:func:`ctk.ehr.mimic3.load_mimic3`."""
        return load_mimic3


class Mimic4Source(EHRSource):
    """Raw MIMIC-IV tables, with MIMIC-IV-Note's discharge notes when given."""

    name: ClassVar[str] = "mimic4"
    options_taken: ClassVar[frozenset[str]] = frozenset({"testset", "note_root"})

    def loader(self) -> Callable[..., Iterator[Admission]]:
        """:func:`ctk.ehr.mimic4.load_mimic4`."""
        return load_mimic4


#: EHR source formats (group ``ctk.ehr_sources``), by format name.
EHR_SOURCES: Registry[EHRSource] = Registry("ctk.ehr_sources", EHRSource)
