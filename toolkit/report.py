"""Skip-and-report bookkeeping for long jobs that read imperfect data.

Loaders never drop a record silently: each skip is counted by reason and the
first few are kept with their file and position, so a user sees what was lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["ProblemReport", "Skipped"]


@dataclass(frozen=True, slots=True)
class Skipped:
    """One skipped or repaired record: why, and where."""

    reason: str
    source: str
    position: str
    detail: str = ""


@dataclass
class ProblemReport:
    """Counts of problems by reason, with the first ``keep`` examples of each.

    Attributes:
        keep: How many examples to keep per reason.
        counts: Problems per reason.
        examples: The first examples, in order of occurrence.
    """

    keep: int = 5
    counts: Counter[str] = field(default_factory=Counter)
    examples: list[Skipped] = field(default_factory=list)

    def add(self, reason: str, source: str, position: object, detail: str = "") -> None:
        """Record one problem."""
        self.counts[reason] += 1
        if self.counts[reason] <= self.keep:
            self.examples.append(Skipped(reason, source, str(position), detail))

    def merge(self, other: ProblemReport) -> None:
        """Add another report's counts and examples to this one."""
        for reason, n in other.counts.items():
            before = self.counts[reason]
            self.counts[reason] += n
            room = max(0, self.keep - before)
            self.examples.extend([e for e in other.examples if e.reason == reason][:room])

    @property
    def total(self) -> int:
        """All problems counted."""
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return self.total > 0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "total": self.total,
            "counts": dict(sorted(self.counts.items())),
            "examples": [
                {"reason": e.reason, "source": e.source, "position": e.position, "detail": e.detail}
                for e in self.examples
            ],
        }

    def lines(self) -> list[str]:
        """Human-readable lines, one per reason then one per example."""
        out = [f"{n} x {reason}" for reason, n in sorted(self.counts.items())]
        out += [
            f"  e.g. {e.source} @ {e.position}: {e.reason} {e.detail}".rstrip()
            for e in self.examples
        ]
        return out
