"""Did a phase learn? A verdict in words from its per-step metrics.

A phase "learned" when each of its per-token losses (the LM loss, and the
anomaly-caption loss where phase 2 has one) ends clearly below where it started
**and** below the loss of a uniform guess over the vocabulary (``ln |V|`` nats
per token). The diagnosis head's loss is reported beside them, not judged: the
head carries over from phase to phase, so it need not fall within one. A
loss that stays flat, or ends above a uniform guess, is what a frozen or broken
part looks like; ``ctk distill run`` prints the verdict beside each phase.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LEARNED_RATIO", "LossTrend", "PhaseLearning", "check_learning"]

#: A loss must end below this fraction of its start to count as learned.
LEARNED_RATIO = 0.9

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
        uniform: ``ln |V|``, the loss of a uniform guess over the vocabulary.
        message: The verdict in words.
    """

    phase: int
    learned: bool
    trends: list[LossTrend]
    uniform: float
    message: str


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def check_learning(
    metrics_path: str | Path, phase: int, vocab_size: int, *, window: int = 10
) -> PhaseLearning | None:
    """Judge a phase from its ``metrics.jsonl``.

    Args:
        metrics_path: The phase's ``metrics.jsonl`` (one line per optimiser step).
        phase: The phase number (for the message).
        vocab_size: Size of the LM's vocabulary (a uniform guess costs ``ln`` of it).
        window: Steps averaged at each end (at most a quarter of the steps).

    Returns:
        The verdict, or None when the file has fewer than 4 steps (too short to judge).

    Example:
        >>> check_learning("out/phase2/metrics.jsonl", 2, 812).message  # doctest: +SKIP
        'learned: LM loss 9.16 -> 1.02 (11% of its start), ...'
    """
    path = Path(metrics_path)
    if not path.is_file():
        return None
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if len(rows) < 4:
        return None
    w = max(1, min(window, len(rows) // 4))
    uniform = math.log(max(vocab_size, 2))
    trends: list[LossTrend] = []
    for key in ("lm_loss", "aux_loss", "head_loss"):
        values = [float(r[key]) for r in rows if isinstance(r.get(key), int | float)]
        if len(values) < 4:
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
        if t.end >= uniform:
            failures.append(f"{label} ends above the {uniform:.2f} nats of a uniform guess")
    learned = not failures
    summary = ", ".join(parts)
    if learned:
        message = f"learned: {summary}; a uniform guess costs {uniform:.2f}"
    else:
        message = f"did NOT learn ({'; '.join(failures)}): {summary}"
    return PhaseLearning(phase, learned, trends, uniform, message)
