"""EHR loaders: the MIMIC-III benchmark layout, raw MIMIC-III and MIMIC-IV tables.

Each loader yields :class:`~ctk.records.Admission` records and fills a
:class:`~ctk.report.ProblemReport`; :func:`import_cohort` writes them as a cohort folder.
See ``docs/data.md``.
"""

from __future__ import annotations

from ctk.ehr.benchmark import load_benchmark
from ctk.ehr.icd10 import icd10_to_phenotypes
from ctk.ehr.importer import import_cohort
from ctk.ehr.mimic3 import load_mimic3
from ctk.ehr.mimic4 import load_mimic4
from ctk.ehr.notes import make_note, split_sections
from ctk.ehr.sources import EHR_SOURCES, EHRSource
from ctk.ehr.stats import CohortStats, cohort_stats

__all__ = [
    "EHR_SOURCES",
    "CohortStats",
    "EHRSource",
    "cohort_stats",
    "icd10_to_phenotypes",
    "import_cohort",
    "load_benchmark",
    "load_mimic3",
    "load_mimic4",
    "make_note",
    "split_sections",
]
