"""A concept's neighbourhood drawn as inline SVG on the server.

The concept sits in the middle, its neighbours on a circle around it, best
weight first from the top, clockwise. Each edge is drawn as thick as its weight,
coloured by relation type, with an arrow pointing from subject to object, and is
a link to the fact's page; each neighbour is a link to its own neighbourhood.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from ctk.graph import Neighbour
from ctk.records import Concept

__all__ = ["RELATION_COLOURS", "neighbourhood_svg"]

#: Relation type -> stroke colour (colour-blind safe palette, Okabe-Ito).
RELATION_COLOURS: dict[str, str] = {
    "causes": "#D55E00",
    "symptom_of": "#0072B2",
    "treats": "#009E73",
    "diagnosed_by": "#CC79A7",
    "associated_with": "#777777",
}

_SIZE = 640
_R = 230


def _short(name: str, n: int = 28) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def neighbourhood_svg(
    concept: Concept,
    neighbours: Sequence[Neighbour],
    *,
    concept_url: Callable[[str], str],
    fact_url: Callable[[str], str],
) -> Markup:
    """The neighbourhood as one SVG element.

    Args:
        concept: The concept in the middle.
        neighbours: Its edges (as :meth:`ctk.graph.GraphReader.neighbours` returns them).
        concept_url: Link of a concept page, from its id.
        fact_url: Link of a fact page, from its id.

    Returns:
        Safe markup: every name and id in it is escaped.
    """
    c = _SIZE / 2
    parts = [
        f'<svg class="graph" viewBox="0 0 {_SIZE} {_SIZE}" width="{_SIZE}" height="{_SIZE}" '
        f'role="img" aria-label="neighbourhood of {escape(concept.name)}">',
        "<defs>",
    ]
    for rtype, colour in RELATION_COLOURS.items():
        parts.append(
            f'<marker id="arrow-{rtype}" viewBox="0 0 10 10" refX="0" refY="5" '
            f'markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" '
            'orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
        )
    parts.append("</defs>")
    n = max(len(neighbours), 1)
    max_w = max((abs(nb.relation.weight) for nb in neighbours), default=1.0) or 1.0
    nodes: list[str] = []
    for i, nb in enumerate(neighbours):
        angle = -math.pi / 2 + 2 * math.pi * i / n
        x, y = c + _R * math.cos(angle), c + _R * math.sin(angle)
        rel = nb.relation
        colour = RELATION_COLOURS.get(rel.type, "#777777")
        width = 1.0 + 5.0 * abs(rel.weight) / max_w
        # arrow from subject to object; stop short of the node circles
        (sx, sy), (tx, ty) = ((c, c), (x, y)) if nb.direction == "out" else ((x, y), (c, c))
        dx, dy = tx - sx, ty - sy
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        x1, y1, x2, y2 = sx + ux * 18, sy + uy * 18, tx - ux * 24, ty - uy * 24
        mx, my = (sx + tx) / 2, (sy + ty) / 2
        label = f"{rel.type.replace('_', ' ')} {rel.weight:.2f} ({rel.count} docs)"
        parts.append(
            f'<a class="edge" href="{escape(fact_url(rel.id))}"><title>{escape(label)}</title>'
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="{width:.1f}" marker-end="url(#arrow-{escape(rel.type)})"/>'
            f'<text class="edge-label" x="{mx:.1f}" y="{my:.1f}" fill="{colour}">'
            f"{rel.weight:.2f}</text></a>"
        )
        anchor = "start" if x > c + 1 else ("end" if x < c - 1 else "middle")
        lx = x + (12 if anchor == "start" else -12 if anchor == "end" else 0)
        ly = y + (4 if anchor != "middle" else (-14 if y < c else 22))
        nodes.append(
            f'<a class="node" href="{escape(concept_url(nb.concept.id))}">'
            f"<title>{escape(nb.concept.name)} ({escape(nb.concept.type)})</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" class="type-{escape(nb.concept.type)}"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">'
            f"{escape(_short(nb.concept.name))}</text></a>"
        )
    parts.extend(nodes)
    parts.append(
        f'<circle cx="{c}" cy="{c}" r="14" class="centre type-{escape(concept.type)}"/>'
        f'<text class="centre-label" x="{c}" y="{c + 30}" text-anchor="middle">'
        f"{escape(_short(concept.name, 36))}</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))
