"""Write a synthetic cohort in the MIMIC-III benchmark's phenotyping layout.

::

    OUT/README.md                           what this is, seed and settings
    OUT/{train,test}/listfile.csv           stay,period_length,<25 phenotypes 0/1>
    OUT/{train,test}/{subject}_episode1_timeseries.csv
                                            Hours + the 17 benchmark variables
    OUT/{train,test}/notes.csv              stay,text (a ctk extension)

Admission ``i`` draws its labels and labs from ``SeedSequence([seed, i, 0])`` and
its note from ``SeedSequence([seed, i, 1])``: files are byte-identical for the same
arguments, and cohorts that differ only in ``note_noise`` share labels and labs.
Admissions are written as they are generated (memory does not grow with ``n``).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from ctk.errors import ConfigError
from ctk.lab_variables import BENCHMARK_VARIABLES
from ctk.phenotypes import PHENOTYPE_NAMES
from ctk.synth.labs import format_hours, generate_labs
from ctk.synth.notes import NoteContext, generate_note
from ctk.synth.profiles import SynthProfiles, load_profiles

__all__ = ["SynthSummary", "write_synthetic_benchmark"]

logger = logging.getLogger(__name__)

_SUBJECT_BASE = 10000
_MIN_HOURS = 12
_SICK = frozenset(
    {
        "Shock",
        "Septicemia (except in labor)",
        "Respiratory failure; insufficiency; arrest (adult)",
    }
)


class SynthSummary(BaseModel):
    """What :func:`write_synthetic_benchmark` wrote.

    Attributes:
        admissions: Admissions written.
        train: Admissions in ``train/``.
        test: Admissions in ``test/``.
        out: The output folder.
        seed: The seed.
        note_noise: Note noise used.
        test_fraction: Share of admissions in ``test/``.
        max_hours: Longest stay in hours.
        phenotype_counts: Phenotype -> positive admissions (all 25, benchmark order).
        lab_only_phenotypes: Phenotypes the notes never name.
    """

    model_config = ConfigDict(extra="forbid")

    admissions: int
    train: int
    test: int
    out: str
    seed: int
    note_noise: float
    test_fraction: float
    max_hours: int
    phenotype_counts: dict[str, int]
    lab_only_phenotypes: list[str]


def _sample_labels(rng: np.random.Generator, profiles: SynthProfiles) -> frozenset[str]:
    draws = rng.random(len(profiles.phenotypes))
    positives: set[str] = set()
    for draw, profile in zip(draws.tolist(), profiles.phenotypes, strict=True):
        p = profile.prevalence
        for driver, factor in profile.boost.items():
            if driver in positives:
                p *= factor
        if draw < min(p, 0.95):
            positives.add(profile.name)
    return frozenset(positives)


def write_synthetic_benchmark(
    out: Path,
    *,
    n: int,
    seed: int,
    note_noise: float = 0.1,
    test_fraction: float = 0.2,
    max_hours: int = 96,
    profiles: SynthProfiles | None = None,
    progress: Callable[[int], None] | None = None,
) -> SynthSummary:
    """Generate a planted-signal cohort in the benchmark layout.

    Args:
        out: Output folder (created; existing cohort files are overwritten).
        n: Number of admissions.
        seed: Random seed; same arguments give byte-identical files.
        note_noise: Probability that a positive phenotype is left out of its note
            and that a negative one is mentioned negated.
        test_fraction: Share of admissions written to ``test/``.
        max_hours: Longest length of stay in hours (at least 12).
        profiles: Planted-signal table; the built-in one when None.
        progress: Called with the number of admissions written so far.

    Returns:
        Counts and settings of the written cohort.

    Raises:
        ConfigError: An argument is out of range.

    Example:
        >>> summary = write_synthetic_benchmark(Path("synth"), n=100, seed=0)  # doctest: +SKIP
        >>> summary.train, summary.test
        (80, 20)
    """
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}", hint="pass --n 1000 for example")
    if not 0.0 <= note_noise <= 1.0:
        raise ConfigError(f"note_noise must lie in [0, 1], got {note_noise}")
    if not 0.0 <= test_fraction <= 1.0:
        raise ConfigError(f"test_fraction must lie in [0, 1], got {test_fraction}")
    if max_hours < _MIN_HOURS:
        raise ConfigError(f"max_hours must be at least {_MIN_HOURS}, got {max_hours}")
    table = profiles or load_profiles()
    lab_only = table.lab_only
    out = Path(out)
    split_rng = np.random.default_rng(np.random.SeedSequence([seed, 2**31]))
    n_test = round(n * test_fraction)
    is_test = np.zeros(n, dtype=bool)
    is_test[split_rng.permutation(n)[:n_test]] = True

    counts = dict.fromkeys(PHENOTYPE_NAMES, 0)
    split_counts = {"train": 0, "test": 0}
    dirs = {s: out / s for s in ("train", "test")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    files = {}
    try:
        for split, d in dirs.items():
            lf = (d / "listfile.csv").open("w", encoding="utf-8", newline="")
            nf = (d / "notes.csv").open("w", encoding="utf-8", newline="")
            files[split] = (
                lf,
                nf,
                csv.writer(lf, lineterminator="\n"),
                csv.writer(nf, lineterminator="\n"),
            )
            files[split][2].writerow(["stay", "period_length", *PHENOTYPE_NAMES])
            files[split][3].writerow(["stay", "text"])
        header = ",".join(["Hours", *BENCHMARK_VARIABLES]) + "\n"
        for i in range(n):
            lab_rng = np.random.default_rng(np.random.SeedSequence([seed, i, 0]))
            note_rng = np.random.default_rng(np.random.SeedSequence([seed, i, 1]))
            positives = _sample_labels(lab_rng, table)
            sick = 1.5 if positives & _SICK else 1.0
            hours = min(float(max_hours), max(_MIN_HOURS, 40.0 * sick * lab_rng.lognormal(0, 0.6)))
            minutes = int(hours * 60)
            rows = generate_labs(
                lab_rng,
                [p for p in table.phenotypes if p.name in positives],
                table.background,
                minutes,
            )
            stay = f"{_SUBJECT_BASE + i}_episode1_timeseries.csv"
            split = "test" if is_test[i] else "train"
            with (dirs[split] / stay).open("w", encoding="utf-8", newline="") as f:
                f.write(header)
                f.writelines(f"{format_hours(m)},{','.join(cells)}\n" for m, cells in rows)
            age = int(note_rng.integers(25, 91))
            admit = dt.date(int(note_rng.integers(2100, 2190)), 1, 1) + dt.timedelta(
                days=int(note_rng.integers(0, 365))
            )
            ctx = NoteContext(
                age=age,
                male=bool(note_rng.random() < 0.56),
                admit=admit,
                days=math.ceil(hours / 24) + int(note_rng.integers(0, 4)),
            )
            text = generate_note(note_rng, ctx, table.phenotypes, positives, note_noise)
            _, _, listw, notew = files[split]
            listw.writerow(
                [stay, format_hours(minutes), *[int(p in positives) for p in PHENOTYPE_NAMES]]
            )
            notew.writerow([stay, text])
            for name in positives:
                counts[name] += 1
            split_counts[split] += 1
            if progress is not None:
                progress(i + 1)
    finally:
        for lf, nf, _, _ in files.values():
            lf.close()
            nf.close()

    summary = SynthSummary(
        admissions=n,
        train=split_counts["train"],
        test=split_counts["test"],
        out=str(out),
        seed=seed,
        note_noise=note_noise,
        test_fraction=test_fraction,
        max_hours=max_hours,
        phenotype_counts=counts,
        lab_only_phenotypes=list(lab_only),
    )
    (out / "README.md").write_text(_readme(summary), encoding="utf-8")
    logger.info("wrote %d synthetic admissions to %s", n, out)
    return summary


def _readme(s: SynthSummary) -> str:
    lines = [
        "# Synthetic MIMIC-III benchmark cohort (ctk)",
        "",
        "SYNTHETIC DATA: no real patient is described here. Written by `ctk data synth`",
        "(`ctk.synth.write_synthetic_benchmark`) with a planted, documented signal",
        "(see docs/synthetic.md in ctk).",
        "",
        f"- seed: {s.seed}",
        f"- admissions: {s.admissions} (train {s.train}, test {s.test})",
        f"- note_noise: {s.note_noise}",
        f"- test_fraction: {s.test_fraction}",
        f"- max_hours: {s.max_hours}",
        "",
        "Layout: `{train,test}/listfile.csv` (stay, period_length, 25 phenotype labels),",
        "`{train,test}/{subject}_episode1_timeseries.csv` (Hours + 17 benchmark variables,",
        "empty cell = not measured), `{train,test}/notes.csv` (stay, discharge summary text).",
        "",
        "Lab-only phenotypes (never named in a note; only the labs reveal them):",
        *[f"- {name}" for name in s.lab_only_phenotypes],
        "",
        "| phenotype | positives | prevalence |",
        "|---|---:|---:|",
        *[f"| {name} | {c} | {c / s.admissions:.3f} |" for name, c in s.phenotype_counts.items()],
        "",
    ]
    return "\n".join(lines)
