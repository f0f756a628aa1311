"""Lab and vital-sign variables: the paper's 11 of the benchmark's 17, with ranges.

The abnormal ranges of ClinRaGen (Niu et al. 2025) ship as a CSV table
(``ctk/data/lab_ranges.csv``: ``variable,unit,low,high,caption_name``). A user can
pass their own table with the same columns to :func:`load_lab_ranges`.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ctk.errors import MissingColumnError, RecordParseError

__all__ = [
    "BENCHMARK_VARIABLES",
    "PAPER_VARIABLES",
    "LabRange",
    "load_lab_ranges",
]

#: The 17 variables of the MIMIC-III benchmark time series, in its column order.
BENCHMARK_VARIABLES: tuple[str, ...] = (
    "Capillary refill rate",
    "Diastolic blood pressure",
    "Fraction inspired oxygen",
    "Glascow coma scale eye opening",
    "Glascow coma scale motor response",
    "Glascow coma scale total",
    "Glascow coma scale verbal response",
    "Glucose",
    "Heart Rate",
    "Height",
    "Mean blood pressure",
    "Oxygen saturation",
    "Respiratory rate",
    "Systolic blood pressure",
    "Temperature",
    "Weight",
    "pH",
)

#: The 6 benchmark variables ClinRaGen does not use.
_NOT_IN_PAPER = frozenset(
    {
        "Capillary refill rate",
        "Glascow coma scale eye opening",
        "Glascow coma scale motor response",
        "Glascow coma scale total",
        "Glascow coma scale verbal response",
        "Height",
    }
)

#: The 11 variables ClinRaGen keeps (benchmark spelling), the order of a LabSeries:
#: the benchmark's 17 in their order, less :data:`_NOT_IN_PAPER`.
PAPER_VARIABLES: tuple[str, ...] = tuple(v for v in BENCHMARK_VARIABLES if v not in _NOT_IN_PAPER)

_RANGE_COLUMNS = ("variable", "low", "high")


@dataclass(frozen=True, slots=True)
class LabRange:
    """The normal range of one variable; values outside it are anomalies.

    Attributes:
        variable: Variable name (benchmark spelling).
        low: Values strictly below are "lower than normal".
        high: Values strictly above are "higher than normal".
        unit: Unit, for captions.
        caption_name: How captions name the variable ("Heart rate").
    """

    variable: str
    low: float
    high: float
    unit: str = ""
    caption_name: str = ""


def load_lab_ranges(path: str | Path | None = None) -> dict[str, LabRange]:
    """Read a lab-range table; the paper's table when ``path`` is None.

    Args:
        path: A CSV with at least ``variable,low,high`` (optional ``unit``,
            ``caption_name``).

    Returns:
        Ranges keyed by variable name.

    Raises:
        MissingColumnError: A required column is absent.
        RecordParseError: A bound is not a finite number, or low > high.
    """
    if path is None:
        text = resources.files("ctk.data").joinpath("lab_ranges.csv").read_text(encoding="utf-8")
        source = "ctk/data/lab_ranges.csv"
    else:
        text = Path(path).read_text(encoding="utf-8")
        source = str(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _RANGE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise MissingColumnError(
            f"{source}: missing column(s) {', '.join(missing)}",
            hint="a lab-range table needs the columns variable,low,high "
            "(unit and caption_name optional)",
        )
    ranges: dict[str, LabRange] = {}
    for line_no, row in enumerate(reader, start=2):
        try:
            low, high = float(row["low"]), float(row["high"])
        except (TypeError, ValueError) as e:
            raise RecordParseError(
                f"low/high are not numbers: {row['low']!r}, {row['high']!r}",
                source=source,
                position=f"line {line_no}",
            ) from e
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise RecordParseError(
                f"invalid range [{low}, {high}] for {row['variable']!r}",
                source=source,
                position=f"line {line_no}",
            )
        name = row["variable"].strip()
        ranges[name] = LabRange(
            variable=name,
            low=low,
            high=high,
            unit=(row.get("unit") or "").strip(),
            caption_name=(row.get("caption_name") or "").strip() or name,
        )
    return ranges
