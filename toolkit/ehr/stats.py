"""Summary statistics of a cohort (``ctk data stats``), computed in one streaming pass."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from ctk.cohort import iter_admissions, read_manifest
from ctk.lab_variables import PAPER_VARIABLES
from ctk.phenotypes import PHENOTYPE_NAMES

__all__ = ["CohortStats", "LabStats", "PhenotypeStats", "cohort_stats"]


class PhenotypeStats(BaseModel):
    """Count and prevalence of one phenotype."""

    name: str
    count: int
    prevalence: float


class LabStats(BaseModel):
    """Missingness of one lab variable.

    Attributes:
        variable: Variable name.
        hours_observed: Share of all hourly steps (over admissions with labs) with a value.
        admissions_with_any: Share of admissions with at least one value.
    """

    variable: str
    hours_observed: float
    admissions_with_any: float


class CohortStats(BaseModel):
    """What ``ctk data stats`` prints."""

    source: str | None = None
    admissions: int = 0
    splits: dict[str, int] = Field(default_factory=dict)
    phenotypes: list[PhenotypeStats] = Field(default_factory=list)
    mean_labels: float = 0.0
    labs: list[LabStats] = Field(default_factory=list)
    admissions_with_labs: int = 0
    mean_hours: float = 0.0
    notes_present: int = 0
    notes_absent: int = 0
    notes_empty: int = 0
    notes_with_brief_hospital_course: int = 0
    problems: int = 0


def cohort_stats(cohort: str | Path) -> CohortStats:
    """Count admissions, labels, lab missingness and notes of a cohort.

    Args:
        cohort: A cohort folder or admissions JSONL file.

    Raises:
        DataError: Not a cohort, or a record cannot be read (see :func:`iter_admissions`).
    """
    manifest = read_manifest(cohort)
    n = 0
    splits: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    observed: Counter[str] = Counter()
    any_value: Counter[str] = Counter()
    hours_total = 0
    with_labs = 0
    notes = Counter[str]()
    for adm in iter_admissions(cohort):
        n += 1
        splits[adm.split or "none"] += 1
        labels.update(adm.phenotypes)
        if adm.note is None:
            notes["absent"] += 1
        elif not adm.note.text.strip():
            notes["empty"] += 1
        else:
            notes["present"] += 1
            if adm.note.sections.get("brief hospital course", "").strip():
                notes["bhc"] += 1
        if adm.labs is not None and adm.labs.n_hours:
            with_labs += 1
            hours_total += adm.labs.n_hours
            for name, row in zip(adm.labs.variables, adm.labs.values, strict=True):
                k = sum(v is not None for v in row)
                observed[name] += k
                any_value[name] += k > 0
    return CohortStats(
        source=manifest.source if manifest else None,
        admissions=n,
        splits=dict(sorted(splits.items())),
        phenotypes=[
            PhenotypeStats(name=p, count=labels[p], prevalence=labels[p] / n if n else 0.0)
            for p in PHENOTYPE_NAMES
        ],
        mean_labels=sum(labels.values()) / n if n else 0.0,
        labs=[
            LabStats(
                variable=v,
                hours_observed=observed[v] / hours_total if hours_total else 0.0,
                admissions_with_any=any_value[v] / n if n else 0.0,
            )
            for v in PAPER_VARIABLES
        ],
        admissions_with_labs=with_labs,
        mean_hours=hours_total / with_labs if with_labs else 0.0,
        notes_present=notes["present"],
        notes_absent=notes["absent"],
        notes_empty=notes["empty"],
        notes_with_brief_hospital_course=notes["bhc"],
        problems=int(manifest.problems.get("total", 0)) if manifest else 0,
    )
