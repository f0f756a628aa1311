"""ctk: knowledge-augmented clinical rationale generation (ClinRaGen) as a toolkit.

The core package holds the records, phenotype and lab tables, cohort files, EHR
loaders, the synthetic cohort generator, lab anomaly detection, plugin registry
and the exception tree. Sub-packages: :mod:`ctk.kg` (knowledge graph),
:mod:`ctk.plugins` (built-in retrievers and LLM backends), :mod:`ctk.distill`
(the student model) and :mod:`ctk.cli` (the ``ctk`` command).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ctk.errors import CtkError
from ctk.phenotypes import PHENOTYPE_NAMES
from ctk.records import Admission, ClinicalNote, Concept, Evidence, LabSeries, Relation

try:
    __version__ = version("clinragen-toolkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "PHENOTYPE_NAMES",
    "Admission",
    "ClinicalNote",
    "Concept",
    "CtkError",
    "Evidence",
    "LabSeries",
    "Relation",
    "__version__",
]
