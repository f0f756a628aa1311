"""The MIMIC-III benchmark's phenotyping cohort, rebuilt from the raw tables.

The benchmark (Harutyunyan et al. 2019, github.com/YerevaNN/mimic3-benchmarks) makes its
phenotyping cohort in five scripts. ctk follows them rule by rule; each rule below names the
function it comes from (``mimic3csv`` = ``mimic3benchmark/mimic3csv.py``, ``scripts/`` =
``mimic3benchmark/scripts/``):

1. ICU stays without a ward or care-unit transfer (``FIRST_WARDID == LAST_WARDID`` and
   ``FIRST_CAREUNIT == LAST_CAREUNIT``; an empty id never equals, as pandas' NaN does not):
   ``mimic3csv.remove_icustays_with_transfers``.
2. Stays whose (SUBJECT_ID, HADM_ID) is in ADMISSIONS and whose SUBJECT_ID is in PATIENTS
   (inner joins): ``mimic3csv.merge_on_subject_admission``, ``mimic3csv.merge_on_subject``.
3. Admissions with exactly one ICU stay *left after rule 1* (an admission with a transfer
   stay and a clean stay keeps the clean one): ``mimic3csv.filter_admissions_on_nb_icustays``.
4. Adults: age at ICU admission ``(INTIME - DOB)`` in 365-day years, at least 18
   (``mimic3csv.add_age_to_icustays``, ``mimic3csv.filter_icustays_on_age``). The benchmark
   sets negative ages (pandas overflow on the shifted birth dates of patients over 89) to 90;
   ctk computes the exact difference, which is >= 18 for them too: the same stays are kept.
5. Diagnoses: DIAGNOSES_ICD inner-joined with D_ICD_DIAGNOSES on ICD9_CODE, so a code the
   dictionary lacks never counts (``mimic3csv.read_icd_diagnoses_table``), restricted to the
   stays' (SUBJECT_ID, HADM_ID) (``mimic3csv.filter_diagnoses_on_stays``); codes to CCS groups
   with ``use_in_benchmark`` (``preprocessing.add_hcup_ccs_2015_groups``; labels in
   ``scripts/create_phenotyping.py``).
6. A stay with no diagnosis left after rule 5 has no row in ``episodeN.csv``
   (``preprocessing.assemble_episodic_data`` inner-joins the diagnosis labels) and
   ``create_phenotyping`` skips it ("empty label file").
7. Episodes: a subject's kept stays sorted by (INTIME, OUTTIME) are episodes 1, 2, ...
   (``subject.read_stays``; ``scripts/extract_episodes_from_subjects.py``); the stay name is
   ``{SUBJECT_ID}_episode{n}`` (``create_phenotyping``: ``{subject}_episode{n}_timeseries.csv``).
8. Events (``scripts/validate_events.py``): an event without HADM_ID is dropped; one whose
   HADM_ID is not a kept stay's is dropped; an empty ICUSTAY_ID is taken from the stay of its
   HADM_ID (LABEVENTS has none); an event whose ICUSTAY_ID differs from that stay's is
   dropped. Only items of the item map count (``preprocessing.read_itemid_to_variable_map``:
   ``STATUS == ready``, 17 variables), values cleaned by ``preprocessing.clean_events`` and
   empty ones dropped (``subject.read_events``).
9. A stay is an episode only when at least one such event lies in
   ``-1e-6 < hours < 24 * LOS + 1e-6`` hours from INTIME and LOS is known
   (``create_phenotyping``: "no events in ICU", "length of stay is missing").
10. Split: the subjects flagged 1 in the benchmark's ``testset.csv`` are test
    (``scripts/split_train_and_test.py``); of the others, those flagged 1 in ``valset.csv``
    are val (``mimic3models/split_train_val.py``), the rest train. Both files ship as package
    data (``ctk/data/mimic3_benchmark/``, MIT licence).

OUTPUTEVENTS is read by the benchmark but none of its items is ``ready`` in the item map, so
it adds no event; ctk does not read it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path

from ctk.ehr.tables import iter_rows, parse_time
from ctk.records import Split
from ctk.report import ProblemReport

__all__ = [
    "EPISODE_EPS",
    "MIN_AGE",
    "BenchmarkStay",
    "benchmark_split",
    "is_benchmark_value",
    "read_dictionary_codes",
    "read_patients_dob",
    "select_benchmark_stays",
    "split_subjects",
]

#: ``create_phenotyping``'s tolerance around the stay (hours).
EPISODE_EPS = 1e-6
#: ``filter_icustays_on_age``'s minimum age (years).
MIN_AGE = 18.0
_SECONDS_PER_YEAR = 60.0 * 60 * 24 * 365
_TRANSFER = "icu stays with a ward or care-unit transfer (remove_icustays_with_transfers)"

#: pandas' default missing-value strings: the benchmark reads events.csv with pandas, so
#: a VALUE spelled like one of these is missing there (``subject.read_events``).
PANDAS_NA = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)

#: ``preprocessing.clean_crr``: the only capillary refill texts that give a value.
_CRR_TEXTS = frozenset({"Normal <3 secs", "Brisk", "Abnormal >3 secs", "Delayed"})


@dataclass(frozen=True, slots=True)
class BenchmarkStay:
    """One ICU stay kept by the benchmark's stay selection (rules 1-4, 7).

    Attributes:
        subject_id: SUBJECT_ID.
        hadm_id: HADM_ID (the stay's only admission, and the admission's only stay).
        icustay_id: ICUSTAY_ID.
        intime: ICU admission time: the time origin of the episode.
        los_hours: ``24 * LOS`` (None when ICUSTAYS has no LOS for the stay).
        episode: The stay's number among its subject's kept stays (1-based).
    """

    subject_id: str
    hadm_id: str
    icustay_id: str
    intime: datetime
    los_hours: float | None
    episode: int

    @property
    def stay_name(self) -> str:
        """The benchmark's stay name without ``_timeseries.csv`` (``10011_episode1``)."""
        return f"{self.subject_id}_episode{self.episode}"

    def in_stay(self, hours: float) -> bool:
        """Whether an event ``hours`` after INTIME lies in the stay (rule 9)."""
        if self.los_hours is None:
            return False
        return -EPISODE_EPS < hours < self.los_hours + EPISODE_EPS


@cache
def split_subjects() -> tuple[frozenset[str], frozenset[str]]:
    """The benchmark's test subjects and validation subjects (package data)."""
    folder = resources.files("ctk.data").joinpath("mimic3_benchmark")

    def flagged(name: str) -> frozenset[str]:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        pairs = (line.split(",") for line in text.splitlines() if line.strip())
        return frozenset(subject.strip() for subject, flag in pairs if flag.strip() == "1")

    return flagged("testset.csv"), flagged("valset.csv")


def benchmark_split(subject_id: str) -> Split:
    """The benchmark's split of a subject (rule 10).

    Example:
        >>> benchmark_split("10000"), benchmark_split("100")
        ('test', 'val')
    """
    test, val = split_subjects()
    if subject_id in test:
        return "test"
    return "val" if subject_id in val else "train"


def read_patients_dob(path: Path, report: ProblemReport) -> dict[str, datetime | None]:
    """SUBJECT_ID -> DOB from PATIENTS (None where the DOB cannot be parsed)."""
    dobs: dict[str, datetime | None] = {}
    for line_no, row in iter_rows(path, ["subject_id", "dob"]):
        subject = row["subject_id"].strip()
        dob = parse_time(row["dob"], source=path, column="dob")
        if dob is None:
            report.add("unparsable DOB", str(path), f"line {line_no}", repr(row["dob"][:20]))
        dobs[subject] = dob
    return dobs


def read_dictionary_codes(path: Path) -> frozenset[str]:
    """The ICD9_CODEs of D_ICD_DIAGNOSES (rule 5's dictionary), as MIMIC spells them."""
    return frozenset(row["icd9_code"].strip() for _, row in iter_rows(path, ["icd9_code"]))


@dataclass(slots=True)
class _StayRow:
    subject_id: str
    hadm_id: str
    icustay_id: str
    intime: datetime
    outtime: datetime | None
    los_hours: float | None


def _read_stays(path: Path, report: ProblemReport, stats: Counter[str]) -> list[_StayRow]:
    """ICUSTAYS rows that pass ``remove_icustays_with_transfers`` (rule 1)."""
    src = str(path)
    rows: list[_StayRow] = []
    columns = [
        "subject_id",
        "hadm_id",
        "icustay_id",
        "first_careunit",
        "last_careunit",
        "first_wardid",
        "last_wardid",
        "intime",
        "outtime",
        "los",
    ]
    for line_no, row in iter_rows(path, columns):
        stats["icu stays read"] += 1
        ward_a, ward_b = row["first_wardid"].strip(), row["last_wardid"].strip()
        unit_a, unit_b = row["first_careunit"].strip(), row["last_careunit"].strip()
        if not (ward_a and unit_a and ward_a == ward_b and unit_a == unit_b):
            stats[_TRANSFER] += 1
            continue
        intime = parse_time(row["intime"], source=src, column="intime")
        if intime is None:
            report.add("unparsable intime", src, f"line {line_no}", repr(row["intime"][:20]))
            continue
        raw_los = row["los"].strip()
        try:
            los = float(raw_los) * 24.0 if raw_los else None
        except ValueError:
            report.add("unparsable LOS", src, f"line {line_no}", repr(raw_los[:20]))
            los = None
        if los is not None and not math.isfinite(los):
            los = None
        rows.append(
            _StayRow(
                subject_id=row["subject_id"].strip(),
                hadm_id=row["hadm_id"].strip(),
                icustay_id=row["icustay_id"].strip(),
                intime=intime,
                outtime=parse_time(row["outtime"], source=src, column="outtime"),
                los_hours=los,
            )
        )
    return rows


def select_benchmark_stays(
    icustays: Path,
    admission_subjects: dict[str, str],
    dobs: dict[str, datetime | None],
    *,
    report: ProblemReport,
    stats: Counter[str],
) -> dict[str, BenchmarkStay]:
    """Apply the benchmark's stay selection (rules 1-4) and number the episodes (rule 7).

    Args:
        icustays: The ICUSTAYS table.
        admission_subjects: HADM_ID -> SUBJECT_ID of ADMISSIONS.
        dobs: SUBJECT_ID -> DOB of PATIENTS.
        report: Collects unparsable rows.
        stats: Counts of the stays each rule removes (for the manifest).

    Returns:
        HADM_ID -> the admission's one kept stay.
    """
    rows = _read_stays(icustays, report, stats)
    joined: list[_StayRow] = []
    for r in rows:
        if admission_subjects.get(r.hadm_id) != r.subject_id:
            stats["icu stays not in ADMISSIONS (merge_on_subject_admission)"] += 1
        elif r.subject_id not in dobs:
            stats["icu stays of subjects not in PATIENTS (merge_on_subject)"] += 1
        else:
            joined.append(r)
    per_admission = Counter(r.hadm_id for r in joined)
    single = [r for r in joined if per_admission[r.hadm_id] == 1]
    stats["icu stays of admissions with several stays (filter_admissions_on_nb_icustays)"] += len(
        joined
    ) - len(single)
    adults: list[_StayRow] = []
    for r in single:
        dob = dobs[r.subject_id]
        if dob is None:
            stats["icu stays without a usable DOB (filter_icustays_on_age)"] += 1
            continue
        age = (r.intime - dob).total_seconds() / _SECONDS_PER_YEAR
        if age < 0:  # add_age_to_icustays: negative ages become 90
            age = 90.0
        if age < MIN_AGE:
            stats["icu stays of patients under 18 (filter_icustays_on_age)"] += 1
            continue
        adults.append(r)
    by_subject: dict[str, list[_StayRow]] = {}
    for r in adults:
        by_subject.setdefault(r.subject_id, []).append(r)
    kept: dict[str, BenchmarkStay] = {}
    for subject_rows in by_subject.values():
        # subject.read_stays: sort_values(by=['INTIME', 'OUTTIME']); pandas puts NaT last
        subject_rows.sort(key=lambda r: (r.intime, r.outtime is None, r.outtime or r.intime))
        for n, r in enumerate(subject_rows, start=1):
            kept[r.hadm_id] = BenchmarkStay(
                subject_id=r.subject_id,
                hadm_id=r.hadm_id,
                icustay_id=r.icustay_id,
                intime=r.intime,
                los_hours=r.los_hours,
                episode=n,
            )
    stats["icu stays selected (extract_subjects)"] = len(kept)
    return kept


def is_benchmark_value(variable: str, raw: str) -> bool:
    """Whether the benchmark keeps an event of one of its 17 variables with this VALUE.

    Used for rule 9 only (does the stay have any event?): empty and pandas-missing values
    are dropped (``subject.read_events``); the cleaning functions of
    ``preprocessing.clean_events`` turn non-numbers of glucose, pH, oxygen saturation and
    unknown capillary-refill texts into NaN, which ``clean_events`` drops; variables without
    a cleaning function (heart rate, Glasgow coma scale, ...) keep any text.
    """
    text = raw.strip()
    if raw in PANDAS_NA or text in PANDAS_NA:
        return False
    if variable == "Capillary refill rate":
        return raw in _CRR_TEXTS
    if variable in ("Glucose", "pH", "Oxygen saturation"):
        # clean_lab / clean_o2sat: '^(\d+(\.\d*)?|\.\d+)$' or NaN
        head, _, tail = text.partition(".")
        return (head.isdigit() and (not tail or tail.isdigit())) or (not head and tail.isdigit())
    if variable in ("Systolic blood pressure", "Diastolic blood pressure") and "/" in text:
        a, _, b = text.partition("/")
        return a.isdigit() and b.isdigit()
    if variable in (
        "Systolic blood pressure",
        "Diastolic blood pressure",
        "Fraction inspired oxygen",
        "Temperature",
        "Weight",
        "Height",
    ):
        try:
            return not math.isnan(float(text))
        except ValueError:
            return False  # the benchmark's astype(float) would stop with an error here
    return True
