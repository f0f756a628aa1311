"""A concept's neighbourhood, found by name: what ``ctk kg query`` shows.

:func:`concept_neighbourhood` finds the concept (by id, else name or synonym, else
prefix) and reads its edges through any :class:`~ctk.graph.GraphReader`; when the
support floor hides every edge it says so, so that an empty answer is explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ctk.errors import ConfigError
from ctk.graph import DEFAULT_MIN_SUPPORT, GraphReader, Neighbour
from ctk.records import Concept

__all__ = ["Neighbourhood", "concept_neighbourhood"]


@dataclass(frozen=True)
class Neighbourhood:
    """A concept, the other concepts its name matched, and its edges.

    Attributes:
        concept: The concept found.
        other_matches: Other concepts the name matched (prefix matches...).
        neighbours: Its edges, best first.
        min_count: The support floor the edges were read with.
        hidden_by_floor: True when there is no edge at the floor but some below it.
    """

    concept: Concept
    other_matches: list[Concept]
    neighbours: list[Neighbour]
    min_count: int
    hidden_by_floor: bool = False

    @property
    def empty_note(self) -> str:
        """What to say when :attr:`neighbours` is empty."""
        if self.hidden_by_floor:
            return (
                f"no relations seen in {self.min_count} or more documents; "
                "`--min-count 1` shows those resting on fewer"
            )
        return "no relations"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``ctk kg query --format json``)."""
        return {
            "concept": self.concept.model_dump(),
            "other_matches": [m.model_dump() for m in self.other_matches],
            "neighbours": [
                {
                    "direction": n.direction,
                    "relation": n.relation.model_dump(),
                    "concept": n.concept.model_dump(),
                }
                for n in self.neighbours
            ],
        }


def concept_neighbourhood(
    graph: GraphReader,
    concept: str,
    *,
    limit: int = 20,
    relation_types: Sequence[str] | None = None,
    min_weight: float | None = None,
    min_count: int = DEFAULT_MIN_SUPPORT,
) -> Neighbourhood:
    """Find a concept by id, name, synonym or prefix and read its edges.

    Args:
        graph: The graph.
        concept: A concept id, name or synonym (case-insensitive), or a prefix.
        limit: Most neighbours.
        relation_types: Only these relation types.
        min_weight: Only edges with at least this weight.
        min_count: Only edges seen in at least this many documents.

    Raises:
        ConfigError: No concept matches.
    """
    found = graph.get_concept(concept)
    matches = [found] if found is not None else graph.find_concepts(concept, limit=5)
    if not matches:
        raise ConfigError(
            f"no concept named {concept!r} in the graph",
            hint="check the spelling, try a shorter prefix, or see `ctk kg stats`",
        )
    target = matches[0]
    neighbours = graph.neighbours(
        target.id,
        limit=limit,
        relation_types=relation_types,
        min_weight=min_weight,
        min_count=min_count,
    )
    hidden = (
        not neighbours
        and min_count > 1
        and bool(graph.neighbours(target.id, limit=1, relation_types=relation_types))
    )
    return Neighbourhood(target, matches[1:], neighbours, min_count, hidden)
