"""The engine shared by the raw MIMIC-III and MIMIC-IV loaders.

Both releases have the same shape: an admissions table, diagnoses per admission, ICU
stays, two event tables (chart and lab events) keyed by item id, and discharge notes.
:func:`build_admissions` turns the parts into :class:`~ctk.records.Admission` records:

1. admissions (hadm -> subject, admission time), first ICU ``intime`` per admission
   (the time origin; the admission time when there is no ICU stay);
2. diagnoses and notes, read by the release-specific loader;
3. the admissions kept. The *wide* cohort: those with a discharge summary or at least one
   diagnosis (the others are reported). The *benchmark* cohort (``parts.stays`` set, see
   :mod:`ctk.ehr.benchmark_cohort`): the admissions of the benchmark's selected ICU stays
   that have a diagnosis, then, after the event pass, only those with an event in the stay;
4. chart and lab events streamed once, row by row, into an
   :class:`~ctk.ehr.resample.EventAggregator` (hourly sums in a temporary SQLite file,
   a bounded buffer in memory);
5. one admission at a time is assembled and yielded.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypedDict

from ctk.ehr.benchmark_cohort import BenchmarkStay, benchmark_split, is_benchmark_value
from ctk.ehr.itemids import ItemVariable, clean_value, item_map
from ctk.ehr.notes import NoteStore, make_note
from ctk.ehr.resample import DEFAULT_MAX_HOURS, EventAggregator
from ctk.ehr.tables import find_table, iter_rows, parse_time, table_is_empty
from ctk.errors import DataError
from ctk.lab_variables import BENCHMARK_VARIABLES, PAPER_VARIABLES
from ctk.records import Admission, ClinicalNote, Split
from ctk.report import ProblemReport

__all__ = [
    "AdmissionInfo",
    "EventColumns",
    "LoadOptions",
    "RawParts",
    "RawRelease",
    "ReleaseTables",
    "build_admissions",
    "read_admissions",
    "read_first_icu_times",
    "read_test_subjects",
    "subject_split",
]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class AdmissionInfo:
    """What the admissions table says about one admission."""

    subject_id: str
    admittime: datetime
    anchor: datetime


@dataclass(frozen=True, slots=True)
class EventColumns:
    """Column names of an event table (lower case)."""

    hadm: str = "hadm_id"
    itemid: str = "itemid"
    time: str = "charttime"
    value: str = "value"
    unit: str = "valueuom"
    icustay: str = "icustay_id"


@dataclass
class RawParts:
    """Everything :func:`build_admissions` needs, gathered by a release loader.

    Attributes:
        source: ``mimic3`` or ``mimic4``.
        admissions: hadm_id -> admission info, in table order.
        diagnoses: hadm_id -> diagnosis codes (``icd9:4280``, ``icd10:I5020``).
        phenotypes: hadm_id -> phenotype names.
        notes: Discharge summaries by hadm_id.
        event_tables: Chart/lab event tables to stream.
        known_items: Item ids in D_ITEMS/D_LABITEMS (None: not checked).
        test_subjects: Subjects of the test split (None: hash split).
        stats: Counts for the manifest's details.
        stays: The benchmark cohort's ICU stays by hadm_id (None: the wide cohort).
        event_tables_complete: False when CHARTEVENTS is absent: the benchmark's "stay has
            an event" rule is then not applied (it would drop nearly every stay).
    """

    source: str
    admissions: dict[str, AdmissionInfo]
    diagnoses: dict[str, tuple[str, ...]]
    phenotypes: dict[str, frozenset[str]]
    notes: NoteStore
    event_tables: list[Path] = field(default_factory=list)
    known_items: set[int] | None = None
    test_subjects: set[str] | None = None
    stats: Counter[str] = field(default_factory=Counter)
    stays: dict[str, BenchmarkStay] | None = None
    event_tables_complete: bool = True


def subject_split(subject_id: str, test_subjects: set[str] | None = None) -> Split:
    """Deterministic split of a patient: every admission of a subject lands in one split.

    Without ``test_subjects``: SHA-256 of the subject id modulo 100; below 80 train,
    below 90 val, else test. With ``test_subjects`` (the benchmark's ``testset.csv``):
    those subjects are test; of the others, hash modulo 100 below 15 is val.
    """
    bucket = int(hashlib.sha256(subject_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    if test_subjects is not None:
        if subject_id in test_subjects:
            return "test"
        return "val" if bucket < 15 else "train"
    if bucket < 80:
        return "train"
    return "val" if bucket < 90 else "test"


def read_test_subjects(path: Path) -> set[str]:
    """Read the benchmark's ``testset.csv`` (``subject_id,flag`` without header; 1 = test).

    Raises:
        RecordParseError: A row is not ``id,0`` or ``id,1``.
    """
    from ctk.errors import RecordParseError

    subjects: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            parts = [p.strip() for p in line.split(",")]
            if parts == [""]:
                continue
            if len(parts) != 2 or parts[1] not in ("0", "1") or not parts[0].isdigit():
                raise RecordParseError(
                    f"expected 'subject_id,0|1', got {line.strip()!r}",
                    source=str(path),
                    position=f"line {line_no}",
                )
            if parts[1] == "1":
                subjects.add(parts[0])
    return subjects


def read_admissions(path: Path, report: ProblemReport) -> dict[str, AdmissionInfo]:
    """Read the admissions table: hadm_id -> subject and admission time."""
    admissions: dict[str, AdmissionInfo] = {}
    for line_no, row in iter_rows(path, ["subject_id", "hadm_id", "admittime"]):
        hadm, subject = row["hadm_id"].strip(), row["subject_id"].strip()
        if not hadm or not subject:
            report.add("admission without hadm_id/subject_id", str(path), f"line {line_no}")
            continue
        when = parse_time(row["admittime"], source=path, column="admittime")
        if when is None:
            report.add("unparsable admittime", str(path), f"line {line_no}", repr(row["admittime"]))
            continue
        if hadm in admissions:
            report.add("duplicate hadm_id", str(path), f"line {line_no}", hadm)
            continue
        admissions[sys.intern(hadm)] = AdmissionInfo(sys.intern(subject), when, when)
    return admissions


def read_first_icu_times(
    path: Path, admissions: dict[str, AdmissionInfo], report: ProblemReport
) -> int:
    """Move each admission's time origin to its first ICU ``intime``; returns stays read."""
    first: dict[str, datetime] = {}
    n = 0
    for line_no, row in iter_rows(path, ["hadm_id", "intime"]):
        n += 1
        hadm = row["hadm_id"].strip()
        when = parse_time(row["intime"], source=path, column="intime")
        if when is None:
            report.add("unparsable intime", str(path), f"line {line_no}", repr(row["intime"]))
            continue
        if hadm not in admissions:
            report.add("ICU stay of an unknown admission", str(path), f"line {line_no}", hadm)
            continue
        if hadm not in first or when < first[hadm]:
            first[hadm] = when
    for hadm, when in first.items():
        admissions[hadm].anchor = when
    return n


#: Rows of the benchmark cohort's series: the paper's 11 first, then the benchmark's other 6.
BENCHMARK_SERIES: tuple[str, ...] = PAPER_VARIABLES + tuple(
    v for v in BENCHMARK_VARIABLES if v not in PAPER_VARIABLES
)


def _series_variables(parts: RawParts) -> tuple[str, ...]:
    return BENCHMARK_SERIES if parts.stays is not None else PAPER_VARIABLES


def _wanted_items(variables: tuple[str, ...]) -> dict[int, tuple[ItemVariable, int]]:
    """Item id -> (item, its variable's row in ``variables``) for the mapped items."""
    index = {v: i for i, v in enumerate(variables)}
    return {
        itemid: (item, index[item.variable])
        for itemid, item in item_map().items()
        if item.variable in index
    }


def _value_problem(raw: str) -> str:
    text = raw.strip().lower().lstrip("+-")
    if text in ("nan", "inf", "infinity"):
        return "non-finite value"
    return "text value in a numeric item (e.g. NEG, TR, <5, >100, ERROR)"


def _stream_events(
    path: Path,
    parts: RawParts,
    kept: set[str],
    aggregator: EventAggregator,
    report: ProblemReport,
    columns: EventColumns,
    with_data: set[str],
) -> None:
    """Stream one event table into the aggregator.

    With the benchmark cohort (``parts.stays``), the rules of ``validate_events`` and
    ``create_phenotyping`` apply (see :mod:`ctk.ehr.benchmark_cohort`, rules 8-9) and each
    admission with an event in its ICU stay is added to ``with_data``.
    """
    stays = parts.stays
    wanted = _wanted_items(_series_variables(parts))
    known = parts.known_items
    src = str(path)
    # item ids known to MIMIC but not among the variables read: dropped before parsing
    others = frozenset(str(i) for i in (known or set()) if i not in wanted)
    times: dict[str, datetime] = {}
    for line_no, row in iter_rows(
        path,
        [columns.hadm, columns.itemid, columns.time, columns.value],
        optional=[columns.unit, columns.icustay],
        skip=(columns.itemid, others),
        report=report,
    ):
        raw_item = row[columns.itemid]
        try:
            itemid = int(raw_item)
        except ValueError:
            report.add("unparsable item id", src, f"line {line_no}", repr(raw_item))
            continue
        hit = wanted.get(itemid)
        if hit is None:
            if known is not None and itemid not in known:
                report.add(
                    "unknown item id (not in D_ITEMS/D_LABITEMS)",
                    src,
                    f"line {line_no}",
                    str(itemid),
                )
            continue
        hadm = row[columns.hadm].strip()
        if not hadm:
            report.add("event without hadm_id", src, f"line {line_no}")
            continue
        if hadm not in kept:
            parts.stats["events of admissions not imported"] += 1
            continue
        item, var_index = hit
        raw_value = row[columns.value]
        stay = stays[hadm] if stays is not None else None
        if stay is not None:
            icustay = row[columns.icustay].strip()
            if not icustay:  # validate_events: recovered from the admission's stay
                parts.stats["events given their admission's ICUSTAY_ID (validate_events)"] += 1
            elif icustay != stay.icustay_id:
                report.add(
                    "event of another ICU stay than its admission's (validate_events)",
                    src,
                    f"line {line_no}",
                )
                continue
            has_value = is_benchmark_value(item.variable, raw_value)
        raw_time = row[columns.time]
        when = times.get(raw_time)
        if when is None:
            when = parse_time(raw_time, source=src, column=columns.time)
            if when is None:
                report.add("unparsable charttime", src, f"line {line_no}", repr(raw_time))
                continue
            if len(times) >= 100_000:  # charttimes repeat within a stay: a small cache
                times.clear()
            times[raw_time] = when
        hours = (when - parts.admissions[hadm].anchor).total_seconds() / 3600.0
        if stay is not None:
            if not stay.in_stay(hours):
                report.add(
                    "event outside the ICU stay (create_phenotyping)",
                    src,
                    f"line {line_no}",
                    item.variable,
                )
                continue
            if has_value:
                with_data.add(hadm)
        if not raw_value.strip():
            report.add("empty event value", src, f"line {line_no}", item.variable)
            continue
        value = clean_value(item, raw_value, row[columns.unit])
        if value is None:
            report.add(
                _value_problem(raw_value),
                src,
                f"line {line_no}",
                f"{item.variable}={raw_value.strip()[:20]!r}",
            )
            continue
        problem = aggregator.add(hadm, var_index, hours, value)
        if problem is not None:
            report.add(problem, src, f"line {line_no}", item.variable)


def build_admissions(
    parts: RawParts,
    *,
    report: ProblemReport,
    max_hours: int = DEFAULT_MAX_HOURS,
    chunksize: int = 200_000,
    columns: EventColumns | None = None,
    on_table: Callable[[Path], None] | None = None,
) -> Iterator[Admission]:
    """Assemble admissions from the parts (see the module docstring for the rule).

    Args:
        parts: Tables already read by the release loader.
        report: Collects every skipped row or admission.
        max_hours: Length cap of the hourly grid.
        chunksize: Hour cells held in memory before spilling to the temporary SQLite
            file (memory bound of the event pass).
        columns: Event table column names (the MIMIC defaults).
        on_table: Called with each event table before it is streamed (progress).

    Yields:
        One admission per kept hadm_id, in the admissions table's order.
    """
    columns = columns or EventColumns()
    kept = _kept_before_events(parts, report)
    if not kept:
        raise DataError(
            f"no admission of the {parts.source} tables has a discharge summary or a diagnosis"
            if parts.stays is None
            else f"no ICU stay of the {parts.source} tables passes the benchmark's selection",
            hint="check that the tables belong together (see the counts in the import details),"
            " or import the wide cohort (--cohort wide)",
        )
    with_data: set[str] = set()
    with EventAggregator(
        _series_variables(parts), max_hours=max_hours, buffer_size=chunksize
    ) as agg:
        for path in parts.event_tables:
            if on_table is not None:
                on_table(path)
            logger.info("streaming %s", path)
            _stream_events(path, parts, kept, agg, report, columns, with_data)
        agg.flush()
        parts.stats["events aggregated"] += agg.events
        if parts.stays is not None:
            kept = _kept_after_events(parts, kept, with_data)
        for hadm, info in parts.admissions.items():
            if hadm not in kept:
                continue
            stay = parts.stays.get(hadm) if parts.stays is not None else None
            yield Admission(
                admission_id=stay.stay_name if stay is not None else hadm,
                subject_id=info.subject_id,
                source=parts.source,
                split=benchmark_split(info.subject_id)
                if stay is not None
                else subject_split(info.subject_id, parts.test_subjects),
                note=_note(parts.notes, hadm, report),
                labs=agg.series(hadm),
                phenotypes=sorted(parts.phenotypes.get(hadm, frozenset())),
                icd_codes=list(parts.diagnoses.get(hadm, ())),
                hadm_id=hadm,
            )


def _kept_before_events(parts: RawParts, report: ProblemReport) -> set[str]:
    kept: set[str] = set()
    if parts.stays is None:
        for hadm in parts.admissions:
            if hadm in parts.diagnoses or hadm in parts.notes:
                kept.add(hadm)
            else:
                report.add("admission without discharge summary or diagnoses", parts.source, hadm)
        return kept
    parts.stats["admissions without a selected ICU stay (extract_subjects)"] += sum(
        1 for hadm in parts.admissions if hadm not in parts.stays
    )
    for hadm, stay in parts.stays.items():
        if hadm not in parts.diagnoses:
            parts.stats["selected stays without a diagnosis (assemble_episodic_data)"] += 1
        elif stay.los_hours is None:
            parts.stats["selected stays without LOS (create_phenotyping)"] += 1
        else:
            kept.add(hadm)
            parts.admissions[hadm].anchor = stay.intime
    return kept


def _kept_after_events(parts: RawParts, kept: set[str], with_data: set[str]) -> set[str]:
    if not parts.event_tables_complete:
        parts.stats["benchmark rule 'stay has an event' not applied: CHARTEVENTS absent"] = 1
        return kept
    parts.stats["selected stays without any event in the stay (create_phenotyping)"] += len(
        kept - with_data
    )
    return kept & with_data


def _note(store: NoteStore, hadm: str, report: ProblemReport) -> ClinicalNote | None:
    text = store.get(hadm)
    if text is None:
        return None
    if not text.strip():
        report.add("empty note", "notes", hadm, "admission kept without a note")
        return None
    return make_note(text)


class LoadOptions(TypedDict, total=False):
    """Options of :meth:`RawRelease.load` that the release loaders pass through.

    Keys: ``chunksize`` (hour cells buffered in memory while streaming events),
    ``max_hours`` (length cap of the hourly grid), ``testset`` (a ``subject_id,0|1`` file of
    test subjects; wide cohorts), ``details`` (filled with counts for the manifest),
    ``on_table`` (called with each table path before it is read).
    """

    chunksize: int
    max_hours: int
    testset: str | Path | None
    details: dict[str, object] | None
    on_table: Callable[[Path], None] | None


@dataclass(frozen=True)
class ReleaseTables:
    """Where a MIMIC release keeps its tables, and how it reads its notes: data, not code.

    Attributes:
        source: ``mimic3`` or ``mimic4``.
        admissions: The admissions table (needed).
        diagnoses: The diagnoses table (needed).
        icustays: The ICU stays table.
        items: Item dictionaries (event item ids not in them are reported).
        events: Event tables, chart events first.
        read_notes: Keeps one discharge note per admission of the notes table
            (``(path, store, report, wanted=...) -> notes kept``).
    """

    source: str
    admissions: str
    diagnoses: str
    icustays: str
    items: tuple[str, ...]
    events: tuple[str, ...]
    read_notes: Callable[..., int]


class RawRelease(ABC):
    """One MIMIC release: where its tables are, and the steps that differ between releases.

    :meth:`load` is the one loader skeleton shared by MIMIC-III and MIMIC-IV: admissions,
    the release's stay selection (:meth:`select`), diagnoses, notes, item dictionaries and
    event tables, then :func:`build_admissions`. A release declares its tables as data
    (:attr:`tables`, a :class:`ReleaseTables`) and implements :meth:`read_diagnoses` and
    :meth:`notes_table`; :meth:`find` says where a table lives.
    """

    #: The release's tables.
    tables: ReleaseTables

    def find(self, root: Path, name: str) -> Path | None:
        """The path of a table (``.csv`` or ``.csv.gz``, any case), or None."""
        found: Path | None = find_table(root, name, required=False)
        return found

    def table_name(self, name: str) -> str:
        """How a table is named in messages and counts (``ADMISSIONS``, ``admissions``)."""
        return name.rpartition("/")[2]

    def needed(self, root: Path, name: str, why: str = "") -> Path:
        """A table the labels need.

        Raises:
            DataError: It is absent (names the table and what needs it).
        """
        path = self.find(root, name)
        if path is None:
            because = f": {why}" if why else ""
            raise DataError(
                f"table {name} not found in {root} (.csv or .csv.gz){because}",
                hint="point at the folder of the tables, or add the missing table"
                + (" (or import the wider cohort with --cohort wide)" if why else ""),
            )
        return path

    def optional(self, root: Path, name: str, parts: RawParts) -> Path | None:
        """An optional table, or None when absent or empty (0 bytes); both are counted."""
        path = self.find(root, name)
        label = self.table_name(name)
        if path is None:
            parts.stats[f"table {label} absent"] += 1
            return None
        if table_is_empty(path):
            parts.stats[f"table {label} empty (0 bytes, no header)"] += 1
            return None
        return path

    def select(
        self, root: Path, parts: RawParts, report: ProblemReport, step: Callable[[Path], Path]
    ) -> None:
        """Choose the stays and time origins (default: the first ICU stay of each admission,
        where ICU stays are given; the wide cohort)."""
        icu = self.optional(root, self.tables.icustays, parts)
        if icu is not None:
            parts.stats["icu stays"] = read_first_icu_times(step(icu), parts.admissions, report)

    @abstractmethod
    def read_diagnoses(self, path: Path, parts: RawParts, report: ProblemReport) -> None:
        """Fill ``parts.diagnoses`` and ``parts.phenotypes`` from the diagnoses table."""

    @abstractmethod
    def notes_table(self, root: Path, parts: RawParts) -> Path | None:
        """The discharge notes table, or None (counted in ``parts.stats``)."""

    def read_notes(
        self, path: Path, store: NoteStore, report: ProblemReport, wanted: set[str]
    ) -> int:
        """Keep one discharge note per admission in ``store``; returns the notes kept."""
        return self.tables.read_notes(path, store, report, wanted=wanted)

    def load(
        self,
        root: str | Path,
        *,
        report: ProblemReport,
        chunksize: int = 200_000,
        max_hours: int = DEFAULT_MAX_HOURS,
        testset: str | Path | None = None,
        details: dict[str, object] | None = None,
        on_table: Callable[[Path], None] | None = None,
    ) -> Iterator[Admission]:
        """Yield the release's admissions (see the release loaders for the arguments).

        Raises:
            DataError: A needed table is missing, or nothing can be kept.
            MissingColumnError: A table lacks a needed column.
        """
        root = Path(root)
        if not root.is_dir():
            raise DataError(
                f"{root} is not a folder",
                hint=f"give the folder of the {self.tables.source} tables",
            )

        def step(path: Path) -> Path:
            if on_table is not None:
                on_table(path)
            return path

        admissions_path = step(self.needed(root, self.tables.admissions))
        diagnoses_path = self.needed(root, self.tables.diagnoses)
        with NoteStore() as store:
            parts = RawParts(
                source=self.tables.source,
                admissions=read_admissions(admissions_path, report),
                diagnoses={},
                phenotypes={},
                notes=store,
            )
            self.select(root, parts, report, step)
            self.read_diagnoses(step(diagnoses_path), parts, report)
            notes = self.notes_table(root, parts)
            if notes is not None:
                parts.stats["discharge notes"] = self.read_notes(
                    step(notes), store, report, set(parts.admissions)
                )
            parts.known_items = self._known_items(root, parts)
            for i, name in enumerate(self.tables.events):
                path = self.optional(root, name, parts)
                if path is not None:
                    parts.event_tables.append(path)
                elif i == 0:
                    parts.event_tables_complete = False
            if testset is not None:
                parts.test_subjects = read_test_subjects(Path(testset))
            yield from build_admissions(
                parts, report=report, max_hours=max_hours, chunksize=chunksize, on_table=on_table
            )
            if details is not None:
                details.update(dict(parts.stats))

    def _known_items(self, root: Path, parts: RawParts) -> set[int] | None:
        known: set[int] = set()
        found = False
        for name in self.tables.items:
            path = self.optional(root, name, parts)
            if path is None:
                continue
            found = True
            known.update(
                int(row["itemid"])
                for _, row in iter_rows(path, ["itemid"])
                if row["itemid"].strip().isdigit()
            )
        return known if found else None
