"""Lab anomaly detection and the paper's captions.

A value is an anomaly when it lies strictly outside its variable's normal range
(:class:`ctk.lab_variables.LabRange`; the paper's table by default, a user's CSV
through :func:`ctk.lab_variables.load_lab_ranges`). Values exactly at a bound are
normal. Per variable and direction ctk counts the anomalous time steps and keeps
the extreme value and the first and last hour, and writes a caption in the
paper's style::

    Heart rate is higher than normal 5 times (max 141)
    Oxygen saturation is lower than normal 3 times (min 85)

Example:
    >>> from ctk.records import LabSeries
    >>> labs = LabSeries(variables=["Heart Rate"], hours=[0, 1, 2],
    ...                  values=[[90, 141, 130]])
    >>> anomaly_captions(labs)
    ['Heart rate is higher than normal 2 times (max 141)']
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ctk.lab_variables import LabRange, load_lab_ranges
from ctk.records import Admission, LabSeries

__all__ = [
    "Anomaly",
    "AnomalySummary",
    "anomaly_captions",
    "detect_anomalies",
    "format_number",
    "summarise_anomalies",
]

logger = logging.getLogger(__name__)

Direction = Literal["high", "low"]


def format_number(value: float) -> str:
    """Format a number as captions do: at most 3 decimals, no trailing zeros.

    Args:
        value: The number.

    Returns:
        ``141``, ``7.08``, ``38.9``, ``0.685``.
    """
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Anomaly:
    """The out-of-range values of one variable in one direction.

    Attributes:
        variable: Variable name (benchmark spelling).
        direction: ``"high"`` (above the range) or ``"low"`` (below it).
        count: Number of anomalous time steps.
        extreme: The maximum (high) or minimum (low) anomalous value.
        first_hour: Hour of the first anomalous value.
        last_hour: Hour of the last anomalous value.
        caption_name: How captions name the variable ("Heart rate").
        unit: Unit of the values ("" when none).
    """

    variable: str
    direction: Direction
    count: int
    extreme: float
    first_hour: float
    last_hour: float
    caption_name: str
    unit: str = ""

    def _head(self) -> str:
        side = "higher" if self.direction == "high" else "lower"
        times = "time" if self.count == 1 else "times"
        return f"{self.caption_name} is {side} than normal {self.count} {times}"

    @property
    def caption(self) -> str:
        """The paper's caption: ``Heart rate is higher than normal 5 times (max 141)``."""
        bound = "max" if self.direction == "high" else "min"
        return f"{self._head()} ({bound} {format_number(self.extreme)})"

    @property
    def caption_with_time(self) -> str:
        """The caption with hours: ``... (max 141; first at hour 3, last at hour 40)``."""
        bound = "max" if self.direction == "high" else "min"
        return (
            f"{self._head()} ({bound} {format_number(self.extreme)}; "
            f"first at hour {format_number(self.first_hour)}, "
            f"last at hour {format_number(self.last_hour)})"
        )


def _scan(
    hours: list[float], row: list[float | None], rng: LabRange, direction: Direction
) -> Anomaly | None:
    """The values of ``row`` outside ``rng`` on one side, as one anomaly (None: there are none)."""
    pairs = zip(hours, row, strict=True)
    if direction == "high":
        hits = [(hour, value) for hour, value in pairs if value is not None and value > rng.high]
    else:
        hits = [(hour, value) for hour, value in pairs if value is not None and value < rng.low]
    if not hits:
        return None
    values = [value for _, value in hits]
    return Anomaly(
        variable=rng.variable,
        direction=direction,
        count=len(hits),
        extreme=max(values) if direction == "high" else min(values),
        first_hour=hits[0][0],
        last_hour=hits[-1][0],
        caption_name=rng.caption_name or rng.variable,
        unit=rng.unit,
    )


def detect_anomalies(
    labs: LabSeries, ranges: Mapping[str, LabRange] | None = None
) -> list[Anomaly]:
    """Find the out-of-range values of a lab series.

    Args:
        labs: The admission's lab series.
        ranges: Normal ranges keyed by variable; the paper's table when None.
            Variables of ``labs`` absent from it are ignored.

    Returns:
        One :class:`Anomaly` per variable and direction with at least one
        anomalous value, in the ranges table's order, ``high`` before ``low``.

    Example:
        >>> labs = LabSeries(variables=["Oxygen saturation"], hours=[0, 1],
        ...                  values=[[85, 97]])
        >>> [a.caption for a in detect_anomalies(labs)]
        ['Oxygen saturation is lower than normal 1 time (min 85)']
    """
    table = load_lab_ranges() if ranges is None else ranges
    index = {name: i for i, name in enumerate(labs.variables)}
    found: list[Anomaly] = []
    for name, rng in table.items():
        i = index.get(name)
        if i is None:
            continue
        row = labs.values[i]
        for direction in ("high", "low"):
            anomaly = _scan(labs.hours, row, rng, direction)
            if anomaly is not None:
                found.append(anomaly)
    return found


def anomaly_captions(labs: LabSeries, ranges: Mapping[str, LabRange] | None = None) -> list[str]:
    """The captions of :func:`detect_anomalies`, in the same order.

    Args:
        labs: The admission's lab series.
        ranges: Normal ranges; the paper's table when None.

    Returns:
        Captions such as ``"Heart rate is higher than normal 5 times (max 141)"``.
    """
    return [a.caption for a in detect_anomalies(labs, ranges)]


class AnomalySummary(BaseModel):
    """How often each anomaly occurs over a cohort.

    Attributes:
        admissions: Admissions seen.
        with_labs: Admissions that had a lab series.
        admissions_with: ``"<variable>:<high|low>"`` -> admissions showing that anomaly.
        values: ``"<variable>:<high|low>"`` -> anomalous values over all admissions.
    """

    model_config = ConfigDict(extra="forbid")

    admissions: int = 0
    with_labs: int = 0
    admissions_with: dict[str, int] = Field(default_factory=dict)
    values: dict[str, int] = Field(default_factory=dict)


def summarise_anomalies(
    admissions: Iterable[Admission], ranges: Mapping[str, LabRange] | None = None
) -> AnomalySummary:
    """Count anomalies over a cohort.

    Args:
        admissions: The cohort's admissions (streamed).
        ranges: Normal ranges; the paper's table when None.

    Returns:
        Per ``variable:direction`` the number of admissions and of values.
    """
    table = load_lab_ranges() if ranges is None else ranges
    summary = AnomalySummary()
    for admission in admissions:
        summary.admissions += 1
        if admission.labs is None:
            continue
        summary.with_labs += 1
        for a in detect_anomalies(admission.labs, table):
            key = f"{a.variable}:{a.direction}"
            summary.admissions_with[key] = summary.admissions_with.get(key, 0) + 1
            summary.values[key] = summary.values.get(key, 0) + a.count
    logger.debug("anomalies summarised over %d admissions", summary.admissions)
    return summary
