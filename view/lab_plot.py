"""Small inline SVG plots of an admission's lab series, drawn on the server.

One plot per measured variable: the observed values as a line (broken where a
value is missing), the normal range as a shaded band, the out-of-range values as
red dots (each with its hour and value as a tooltip), and the paper's anomaly
captions underneath. No JavaScript is needed to see them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from ctk.anomalies import detect_anomalies, format_number
from ctk.lab_variables import LabRange, load_lab_ranges
from ctk.records import LabSeries

__all__ = ["LabPlot", "lab_plots"]

_W, _H = 300, 84
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 40, 6, 6, 16


@dataclass(frozen=True, slots=True)
class LabPlot:
    """One variable's plot.

    Attributes:
        variable: The variable (benchmark spelling).
        svg: The plot as inline SVG (safe to insert as is: every text in it is escaped).
        captions: The anomaly captions of this variable (paper style, with hours).
        measured: Time steps with a value.
        out_of_range: Time steps outside the normal range.
    """

    variable: str
    svg: Markup
    captions: tuple[str, ...]
    measured: int
    out_of_range: int


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _plot(
    variable: str, hours: list[float], row: list[float | None], rng: LabRange | None
) -> tuple[Markup, int, int]:
    points = [(h, v) for h, v in zip(hours, row, strict=True) if v is not None]
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    if rng is not None:
        lo, hi = min(lo, rng.low), max(hi, rng.high)
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    h0, h1 = hours[0], hours[-1]
    if h1 - h0 < 1e-9:
        h1 = h0 + 1.0
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def x(h: float) -> float:
        return _PAD_L + (h - h0) / (h1 - h0) * iw

    def y(v: float) -> float:
        return _PAD_T + (hi - v) / (hi - lo) * ih

    parts: list[str] = [
        f'<svg class="lab" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-label="{escape(variable)}">'
    ]
    if rng is not None:
        top, bottom = y(rng.high), y(rng.low)
        parts.append(
            f'<rect class="normal" x="{_PAD_L}" y="{_fmt(top)}" width="{iw}" '
            f'height="{_fmt(bottom - top)}"><title>normal range {format_number(rng.low)} to '
            f"{format_number(rng.high)} {escape(rng.unit)}</title></rect>"
        )
    parts.append(
        f'<text class="axis" x="{_PAD_L - 3}" y="{_PAD_T + 8}" text-anchor="end">'
        f"{format_number(hi)}</text>"
        f'<text class="axis" x="{_PAD_L - 3}" y="{_PAD_T + ih}" text-anchor="end">'
        f"{format_number(lo)}</text>"
        f'<text class="axis" x="{_PAD_L}" y="{_H - 3}">h {format_number(hours[0])}</text>'
        f'<text class="axis" x="{_W - _PAD_R}" y="{_H - 3}" text-anchor="end">'
        f"h {format_number(hours[-1])}</text>"
    )
    run: list[str] = []
    for h, v in zip(hours, row, strict=True):
        if v is None:
            if len(run) > 1:
                parts.append(f'<polyline class="series" points="{" ".join(run)}"/>')
            run = []
            continue
        run.append(f"{_fmt(x(h))},{_fmt(y(v))}")
    if len(run) > 1:
        parts.append(f'<polyline class="series" points="{" ".join(run)}"/>')
    outside = 0
    for h, v in points:
        bad = rng is not None and (v > rng.high or v < rng.low)
        if bad:
            outside += 1
            parts.append(
                f'<circle class="anomaly" cx="{_fmt(x(h))}" cy="{_fmt(y(v))}" r="2.6">'
                f"<title>hour {format_number(h)}: {format_number(v)}</title></circle>"
            )
        elif len(points) <= 40:  # few values: each one visible, even between gaps
            parts.append(f'<circle class="point" cx="{_fmt(x(h))}" cy="{_fmt(y(v))}" r="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts)), len(points), outside


def lab_plots(
    labs: LabSeries | None, ranges: Mapping[str, LabRange] | None = None
) -> list[LabPlot]:
    """One plot per variable with at least one value, in the series' order.

    Args:
        labs: The admission's lab series (None: no plots).
        ranges: Normal ranges; the paper's table when None.
    """
    if labs is None or not labs.hours:
        return []
    table = load_lab_ranges() if ranges is None else ranges
    captions: dict[str, list[str]] = {}
    for anomaly in detect_anomalies(labs, table):
        captions.setdefault(anomaly.variable, []).append(anomaly.caption_with_time)
    plots: list[LabPlot] = []
    for variable, row in zip(labs.variables, labs.values, strict=True):
        if all(v is None for v in row):
            continue
        svg, measured, outside = _plot(variable, labs.hours, row, table.get(variable))
        plots.append(
            LabPlot(
                variable=variable,
                svg=svg,
                captions=tuple(captions.get(variable, ())),
                measured=measured,
                out_of_range=outside,
            )
        )
    return plots
