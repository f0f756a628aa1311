"""Compare a ctk cohort with the MIMIC-III benchmark's phenotyping listfiles.

A user who ran the benchmark's own scripts (``extract_subjects`` ... ``create_phenotyping``)
has ``data/phenotyping/{train,test}/listfile.csv``. :func:`compare_with_benchmark` matches
the benchmark-exact cohort of raw MIMIC-III (``admission_id`` = the benchmark's stay name,
``10011_episode1``) with those rows, admission by admission, and lists:

* admissions only in the cohort, and only in the benchmark;
* label differences (phenotype positive on one side only), with the ICD-9 codes behind each:
  the cohort's codes of that phenotype, and the benchmark's (its per-subject
  ``diagnoses.csv`` rows of the stay's HADM_ID) when the benchmark's per-subject folder
  (``data/root``) is found;
* split differences (the benchmark's ``train`` covers ctk's ``train`` and ``val``).

What ``ctk data compare`` prints and exits with (1 on any difference).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ctk.cohort import iter_admissions
from ctk.ehr.tables import iter_rows
from ctk.errors import ConfigError, DataError
from ctk.phenotypes import PHENOTYPE_NAMES, icd9_to_phenotypes
from ctk.records import Admission

__all__ = [
    "AdmissionOnlyIn",
    "BenchmarkRow",
    "CohortComparison",
    "LabelDifference",
    "SplitDifference",
    "compare_with_benchmark",
    "find_listfiles",
    "read_listfile",
]

_STAY = re.compile(r"^(?P<subject>\d+)_episode(?P<episode>\d+)$")


class BenchmarkRow(BaseModel):
    """One listfile row: the stay, its split and its positive phenotypes."""

    stay: str
    split: str
    phenotypes: list[str]


class AdmissionOnlyIn(BaseModel):
    """An admission present on one side only, with its labels and codes."""

    admission_id: str
    side: str  # "cohort" or "benchmark"
    phenotypes: list[str]
    codes: list[str] = Field(default_factory=list)


class LabelDifference(BaseModel):
    """A phenotype positive on one side only, and the codes behind it on each side."""

    admission_id: str
    phenotype: str
    positive_in: str  # "cohort" or "benchmark"
    cohort_codes: list[str]
    benchmark_codes: list[str] | None = None  # None: the benchmark's diagnoses not found


class SplitDifference(BaseModel):
    """An admission in the benchmark's train listfile and ctk's test split, or the reverse."""

    admission_id: str
    cohort_split: str
    benchmark_split: str


class CohortComparison(BaseModel):
    """The result of :func:`compare_with_benchmark`."""

    matched: int = 0
    only_in_cohort: list[AdmissionOnlyIn] = Field(default_factory=list)
    only_in_benchmark: list[AdmissionOnlyIn] = Field(default_factory=list)
    label_differences: list[LabelDifference] = Field(default_factory=list)
    split_differences: list[SplitDifference] = Field(default_factory=list)

    @property
    def identical(self) -> bool:
        """True when both sides hold the same admissions, labels and splits."""
        return not (
            self.only_in_cohort
            or self.only_in_benchmark
            or self.label_differences
            or self.split_differences
        )

    def lines(self) -> list[str]:
        """A human-readable report, one difference a line."""
        out = [
            f"matched {self.matched} admissions; {len(self.only_in_cohort)} only in the cohort,"
            f" {len(self.only_in_benchmark)} only in the benchmark,"
            f" {len(self.label_differences)} label differences,"
            f" {len(self.split_differences)} split differences"
        ]
        for a in self.only_in_cohort + self.only_in_benchmark:
            codes = f" codes {' '.join(a.codes)}" if a.codes else ""
            out.append(
                f"only in {a.side}: {a.admission_id}"
                f" ({', '.join(a.phenotypes) or 'no phenotype'}){codes}"
            )
        for d in self.label_differences:
            theirs = (
                "not found" if d.benchmark_codes is None else " ".join(d.benchmark_codes) or "none"
            )
            out.append(
                f"label differs: {d.admission_id} {d.phenotype!r} only in {d.positive_in};"
                f" cohort codes: {' '.join(d.cohort_codes) or 'none'};"
                f" benchmark codes: {theirs}"
            )
        for s in self.split_differences:
            out.append(
                f"split differs: {s.admission_id} cohort {s.cohort_split},"
                f" benchmark {s.benchmark_split}"
            )
        return out


def read_listfile(path: Path, split: str) -> list[BenchmarkRow]:
    """Read a phenotyping listfile (``stay,period_length,<25 phenotypes>``).

    Raises:
        MissingColumnError: A phenotype column is missing.
    """
    rows: list[BenchmarkRow] = []
    for _, row in iter_rows(path, ["stay", *PHENOTYPE_NAMES]):
        stay = row["stay"].strip().removesuffix("_timeseries.csv")
        positives = [n for n in PHENOTYPE_NAMES if row[n.lower()].strip() in ("1", "1.0")]
        rows.append(BenchmarkRow(stay=stay, split=split, phenotypes=positives))
    return rows


def find_listfiles(root: Path) -> list[tuple[Path, str]]:
    """The listfiles of a benchmark folder: ``ROOT/{train,test}/listfile.csv`` or the same
    under ``ROOT/phenotyping/`` (the benchmark's ``data/`` folder).

    Raises:
        DataError: None is found.
    """
    for base in (root, root / "phenotyping"):
        found = [
            (base / split / "listfile.csv", split)
            for split in ("train", "test")
            if (base / split / "listfile.csv").is_file()
        ]
        if found:
            return found
    raise DataError(
        f"no train/listfile.csv or test/listfile.csv in {root} nor {root / 'phenotyping'}",
        hint="give the benchmark's data/phenotyping folder, or --listfile FILE",
    )


def _subjects_root(root: Path | None) -> Path | None:
    if root is None:
        return None
    for candidate in (root / "root", root.parent / "root"):
        if candidate.is_dir():
            return candidate
    return None


def _benchmark_codes(subjects_root: Path | None, stay: str, phenotype: str) -> list[str] | None:
    """Codes of the benchmark's ``diagnoses.csv`` for a stay that map to a phenotype."""
    m = _STAY.match(stay)
    if subjects_root is None or m is None:
        return None
    subject, episode = m.group("subject"), int(m.group("episode"))
    for folder in (subjects_root / "train" / subject, subjects_root / "test" / subject):
        stays, diagnoses = folder / "stays.csv", folder / "diagnoses.csv"
        if not (stays.is_file() and diagnoses.is_file()):
            continue
        hadms = [row["hadm_id"].strip() for _, row in iter_rows(stays, ["hadm_id"])]
        if not 1 <= episode <= len(hadms):
            return None
        hadm = hadms[episode - 1]
        codes = [
            row["icd9_code"].strip()
            for _, row in iter_rows(diagnoses, ["hadm_id", "icd9_code"])
            if row["hadm_id"].strip() == hadm
        ]
        return [c for c in dict.fromkeys(codes) if phenotype in icd9_to_phenotypes([c])]
    return None


def _split_of(listfile: Path) -> str:
    return "test" if listfile.parent.name == "test" else "train"


def _codes_of(adm: Admission, phenotype: str) -> list[str]:
    return [
        c
        for c in adm.icd_codes
        if c.startswith("icd9:") and phenotype in icd9_to_phenotypes([c.removeprefix("icd9:")])
    ]


def compare_with_benchmark(
    cohort: str | Path,
    *,
    benchmark_root: str | Path | None = None,
    listfiles: Sequence[str | Path] | None = None,
) -> CohortComparison:
    """Compare a benchmark-exact cohort with the benchmark's phenotyping listfiles.

    Args:
        cohort: A cohort folder (``ctk data import --format mimic3``).
        benchmark_root: The benchmark's ``data/phenotyping`` (or ``data``) folder; its
            ``data/root`` per-subject folder, when next to it, names the benchmark's codes.
        listfiles: Listfiles to read instead (split from the parent folder's name:
            ``test`` when it is ``test``, else ``train``).

    Raises:
        ConfigError: Neither or both sources given, or the cohort's ids are not stay names.
        DataError: A listfile or the cohort cannot be read.

    Example:
        >>> compare_with_benchmark("cohort", benchmark_root="data/phenotyping").identical
        ... # doctest: +SKIP
        True
    """
    if (benchmark_root is None) == (not listfiles):
        raise ConfigError(
            "give either --benchmark-root or --listfile",
            hint="e.g. ctk data compare cohort --benchmark-root data/phenotyping",
        )
    root = Path(benchmark_root) if benchmark_root is not None else None
    sources = (
        find_listfiles(root)
        if root is not None
        else [
            (Path(p), "test" if Path(p).parent.name == "test" else "train") for p in listfiles or []
        ]
    )
    theirs: dict[str, BenchmarkRow] = {}
    for path, split in sources:
        for listed in read_listfile(path, split):
            theirs[listed.stay] = listed
    subjects_root = _subjects_root(root if root is not None else sources[0][0].parent.parent)
    result = CohortComparison()
    ours: dict[str, Admission] = {}
    for adm in iter_admissions(cohort):
        ours[adm.admission_id] = adm
    if ours and not any(_STAY.match(a) for a in ours):
        raise ConfigError(
            f"the admissions of {cohort} are not named like benchmark stays ({next(iter(ours))})",
            hint="import raw MIMIC-III with the benchmark cohort (the default of"
            " ctk data import --format mimic3) and compare that",
        )
    for adm_id, adm in ours.items():
        row = theirs.get(adm_id)
        if row is None:
            result.only_in_cohort.append(
                AdmissionOnlyIn(
                    admission_id=adm_id,
                    side="cohort",
                    phenotypes=list(adm.phenotypes),
                    codes=list(adm.icd_codes),
                )
            )
            continue
        result.matched += 1
        mine, other = set(adm.phenotypes), set(row.phenotypes)
        for name in PHENOTYPE_NAMES:
            if (name in mine) == (name in other):
                continue
            result.label_differences.append(
                LabelDifference(
                    admission_id=adm_id,
                    phenotype=name,
                    positive_in="cohort" if name in mine else "benchmark",
                    cohort_codes=_codes_of(adm, name),
                    benchmark_codes=_benchmark_codes(subjects_root, adm_id, name),
                )
            )
        ours_split = "test" if adm.split == "test" else "train"
        if ours_split != row.split:
            result.split_differences.append(
                SplitDifference(
                    admission_id=adm_id, cohort_split=str(adm.split), benchmark_split=row.split
                )
            )
    for stay, listed in theirs.items():
        if stay not in ours:
            result.only_in_benchmark.append(
                AdmissionOnlyIn(admission_id=stay, side="benchmark", phenotypes=listed.phenotypes)
            )
    return result
