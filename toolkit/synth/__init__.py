"""The planted-signal synthetic cohort generator (``ctk data synth``).

:func:`write_synthetic_benchmark` writes a cohort in the MIMIC-III benchmark's
phenotyping layout (plus a ``notes.csv`` of discharge summaries) whose signal is
planted and documented (``docs/synthetic.md``): phenotypes leave traces in the
notes with controllable noise, and the :data:`LAB_ONLY_PHENOTYPES` show only in
the lab series.
"""

from __future__ import annotations

from ctk.synth.profiles import LAB_ONLY_PHENOTYPES, SynthProfiles, load_profiles
from ctk.synth.writer import SynthSummary, write_synthetic_benchmark

__all__ = [
    "LAB_ONLY_PHENOTYPES",
    "SynthProfiles",
    "SynthSummary",
    "load_profiles",
    "write_synthetic_benchmark",
]
