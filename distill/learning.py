"""Did a phase learn? One rule, one verdict in words, from a phase's per-step metrics.

A phase "learned" when each of its per-token losses (the LM loss, and the
anomaly-caption loss where phase 2 has one) ends below :data:`LEARNED_RATIO` of
where it started **and** below the loss of a uniform guess over the vocabulary
(``ln |V|`` nats per token). "Start" and "end" are the means of the first and
last :data:`LEARNING_WINDOW` steps (at most a quarter of the phase). The
diagnosis head's loss is reported beside them, not judged: the head carries over
from phase to phase, so it need not fall within one. A loss that stays flat, or
ends above a uniform guess, is what a frozen or broken part looks like.

The same rule serves ``ctk distill run`` (the verdict printed beside each phase,
:func:`check_learning` on ``phaseN/metrics.jsonl``) and ``ctk distill eval`` (the
report's notes, :func:`learning_notes` over every phase of the run).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LEARNED_RATIO",
    "LEARNING_WINDOW",
    "LossTrend",
    "PhaseLearning",
    "check_learning",
    "judge_phase",
    "learning_notes",
    "read_metrics_file",
]

logger = logging.getLogger(__name__)

#: A loss must end below this fraction of its start to count as learned.
LEARNED_RATIO = 0.9

#: Steps averaged at each end of a phase (at most a quarter of its steps).
LEARNING_WINDOW = 10

#: Fewer steps than this are too short to judge.
_MIN_STEPS = 4

_LABELS = {"lm_loss": "LM loss", "aux_loss": "caption loss", "head_loss": "head loss"}


@dataclass
class LossTrend:
    """One loss over a phase.

    Attributes:
        name: Metric key (``lm_loss``, ``aux_loss``, ``head_loss``).
        start: Mean of the first steps.
        end: Mean of the last steps.
        per_token: Whether the loss is nats per token (compared with a uniform guess).
    """

    name: str
    start: float
    end: float
    per_token: bool = True

    @property
    def ratio(self) -> float:
        """``end / start`` (1.0 when the start is 0)."""
        return self.end / self.start if self.start > 0 else 1.0


@dataclass
class PhaseLearning:
    """The verdict of one phase.

    Attributes:
        phase: 1, 2 or 3.
        learned: Every per-token loss fell below :data:`LEARNED_RATIO` of its start and
            below a uniform guess.
        trends: The losses checked.
        uniform: ``ln |V|``, the loss of a uniform guess over the vocabulary (None: the
            vocabulary size was not known, and that check was left out).
        message: The verdict in words (``learned: ...`` or ``ended without learning
            (reasons): ...``).
    """

    phase: int
    learned: bool
    trends: list[LossTrend]
    uniform: float | None
    message: str


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def read_metrics_file(path: str | Path) -> list[dict[str, float]]:
    """The numeric fields of each line of a ``metrics.jsonl`` (unreadable lines skipped).

    Args:
        path: One phase's ``metrics.jsonl``.

    Returns:
        One dict per readable line, in file order ([] when the file does not exist).
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows: list[dict[str, float]] = []
    bad = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            rows.append({k: float(v) for k, v in record.items() if isinstance(v, int | float)})
        except (ValueError, TypeError, AttributeError):
            bad += 1
    if bad:
        logger.warning("%s: %d unreadable line(s) skipped", path, bad)
    return rows


def judge_phase(
    rows: Sequence[Mapping[str, float]], phase: int, vocab_size: int | None
) -> PhaseLearning | None:
    """Judge a phase from its per-step metrics (the rule of this module).

    Args:
        rows: One mapping per optimiser step, in order (``lm_loss``, ``aux_loss``,
            ``head_loss`` where present).
        phase: The phase number (for the verdict).
        vocab_size: Size of the LM's vocabulary (a uniform guess costs ``ln`` of it);
            None leaves the uniform-guess check out.

    Returns:
        The verdict, or None when the phase has fewer than 4 steps with a loss (too
        short to judge).
    """
    if len(rows) < _MIN_STEPS:
        return None
    w = max(1, min(LEARNING_WINDOW, len(rows) // 4))
    uniform = math.log(vocab_size) if vocab_size is not None and vocab_size > 1 else None
    trends: list[LossTrend] = []
    for key in ("lm_loss", "aux_loss", "head_loss"):
        values = [float(r[key]) for r in rows if key in r and math.isfinite(float(r[key]))]
        if len(values) < _MIN_STEPS:
            continue
        trends.append(
            LossTrend(key, _mean(values[:w]), _mean(values[-w:]), per_token=key != "head_loss")
        )
    if not trends:
        return None
    failures: list[str] = []
    parts: list[str] = []
    for t in trends:
        label = _LABELS[t.name]
        parts.append(f"{label} {t.start:.2f} -> {t.end:.2f} ({t.ratio:.0%} of its start)")
        if not t.per_token:
            continue  # the head carries over between phases: reported, not judged
        if t.ratio >= LEARNED_RATIO:
            failures.append(f"{label} fell by less than {1 - LEARNED_RATIO:.0%}")
        if uniform is not None and t.end >= uniform:
            failures.append(
                f"{label} ends above the {uniform:.2f} nats per token of a uniform guess "
                f"(ln {vocab_size})"
            )
    learned = not failures
    summary = ", ".join(parts) + f" (means of the first and last {w} steps)"
    if learned:
        guess = f"; a uniform guess costs {uniform:.2f}" if uniform is not None else ""
        message = f"learned: {summary}{guess}"
    else:
        message = f"ended without learning ({'; '.join(failures)}): {summary}"
    return PhaseLearning(phase, learned, trends, uniform, message)


def check_learning(
    metrics_path: str | Path, phase: int, vocab_size: int | None
) -> PhaseLearning | None:
    """Judge a phase from its ``metrics.jsonl`` (:func:`judge_phase` on the file's lines).

    Args:
        metrics_path: The phase's ``metrics.jsonl`` (one line per optimiser step).
        phase: The phase number (for the message).
        vocab_size: Size of the LM's vocabulary (None: no uniform-guess check).

    Returns:
        The verdict, or None when the file is missing or too short to judge.

    Example:
        >>> check_learning("out/phase2/metrics.jsonl", 2, 812).message  # doctest: +SKIP
        'learned: LM loss 9.16 -> 1.02 (11% of its start), ...'
    """
    return judge_phase(read_metrics_file(metrics_path), phase, vocab_size)


def learning_notes(
    metrics: Mapping[int, Sequence[Mapping[str, float]]], vocab_size: int | None
) -> list[str]:
    """One sentence per phase of a run that ended without learning (:func:`judge_phase`).

    Args:
        metrics: Phase number to its per-step metrics
            (:func:`ctk.distill.loss_curves.read_phase_metrics`).
        vocab_size: The student's vocabulary size (None: no uniform-guess check).

    Returns:
        ``phase N ended without learning (...): ...`` per such phase (empty when all
        learned or none could be judged).
    """
    notes: list[str] = []
    for phase, rows in sorted(metrics.items()):
        verdict = judge_phase(rows, phase, vocab_size)
        if verdict is not None and not verdict.learned:
            notes.append(f"phase {phase} {verdict.message}")
    return notes
