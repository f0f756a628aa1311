"""Hourly resampling of lab and vital-sign events into a :class:`~ctk.records.LabSeries`.

An event at ``t`` hours after the start (first ICU admission, or hospital admission)
falls in hour ``floor(t)``; each hour holds the mean of its events. The grid runs from
hour 0 to the last hour with an event, capped at ``max_hours`` (1000 in the paper).

Two accumulators: :class:`HourlyGrid` for one admission in memory (the benchmark's
per-episode files), and :class:`EventAggregator` for a whole raw MIMIC import, which
keeps per-(admission, variable, hour) sums and counts in a temporary SQLite file and
only a bounded buffer in memory: CHARTEVENTS can then be streamed once, in any order,
whatever its size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from ctk.ehr.scratch import ScratchDatabase
from ctk.lab_variables import PAPER_VARIABLES
from ctk.records import LabSeries

__all__ = [
    "DEFAULT_MAX_HOURS",
    "EventAggregator",
    "HourlyGrid",
    "hour_bin",
    "series_from_bins",
]

DEFAULT_MAX_HOURS = 1000

#: (variable index, hour) -> (sum, count)
Bins = Mapping[tuple[int, int], tuple[float, int]]


def hour_bin(hours: float, max_hours: int) -> int | str:
    """The hour index of an event, or the reason it is outside the grid.

    Returns:
        ``floor(hours)``, or ``"event before start"`` / ``"event after max hours"``.
    """
    if hours < 0:
        return "event before start"
    index = math.floor(hours)
    if index >= max_hours:
        return "event after max hours"
    return index


def series_from_bins(bins: Bins, variables: Sequence[str] = PAPER_VARIABLES) -> LabSeries | None:
    """Build the hourly series (mean per hour) from summed bins; None when empty."""
    if not bins:
        return None
    n_hours = max(hour for _, hour in bins) + 1
    values: list[list[float | None]] = [[None] * n_hours for _ in variables]
    for (var, hour), (total, count) in bins.items():
        values[var][hour] = total / count
    return LabSeries(
        variables=list(variables), hours=[float(h) for h in range(n_hours)], values=values
    )


class HourlyGrid:
    """Accumulate one admission's events and build its :class:`LabSeries`.

    Args:
        variables: Variable names, the rows of the series.
        max_hours: Events at or after this hour are outside the grid.
    """

    def __init__(
        self, variables: Sequence[str] = PAPER_VARIABLES, max_hours: int = DEFAULT_MAX_HOURS
    ) -> None:
        self.variables = tuple(variables)
        self.max_hours = max_hours
        self._index = {v: i for i, v in enumerate(self.variables)}
        self._bins: dict[tuple[int, int], tuple[float, int]] = {}

    def add(self, variable: str, hours: float, value: float) -> str | None:
        """Add one event.

        Returns:
            None when added, else the reason it was not (to be reported).
        """
        if not math.isfinite(value):
            return "non-finite value"
        if not math.isfinite(hours):
            return "non-finite time"
        slot = hour_bin(hours, self.max_hours)
        if isinstance(slot, str):
            return slot
        key = (self._index[variable], slot)
        total, count = self._bins.get(key, (0.0, 0))
        self._bins[key] = (total + value, count + 1)
        return None

    def to_series(self) -> LabSeries | None:
        """The series, or None when no event was added."""
        return series_from_bins(self._bins, self.variables)


class EventAggregator(ScratchDatabase):
    """Per-admission hourly sums and counts, spilled to a temporary SQLite file.

    At most ``buffer_size`` (admission, variable, hour) cells are held in memory; a full
    buffer is merged into SQLite with an upsert. Memory is therefore bounded by the
    buffer, not by the number of events.

    Args:
        variables: Variable names (the rows of the series).
        max_hours: Grid length cap.
        buffer_size: Cells kept in memory before a flush.
        folder: Where the temporary file goes (default: the system temp folder).
    """

    def __init__(
        self,
        variables: Sequence[str] = PAPER_VARIABLES,
        *,
        max_hours: int = DEFAULT_MAX_HOURS,
        buffer_size: int = 200_000,
        folder: Path | None = None,
    ) -> None:
        self.variables = tuple(variables)
        self.max_hours = max_hours
        self.buffer_size = buffer_size
        self._buffer: dict[tuple[str, int, int], list[float]] = {}
        super().__init__(
            "events",
            "CREATE TABLE bins (adm TEXT NOT NULL, var INTEGER NOT NULL, hour INTEGER NOT NULL,"
            " total REAL NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (adm, var, hour))"
            " WITHOUT ROWID",
            folder,
        )
        self.events = 0

    def add(self, admission: str, variable_index: int, hours: float, value: float) -> str | None:
        """Add one event; returns None, or the reason it was not added."""
        if not math.isfinite(value):
            return "non-finite value"
        slot = hour_bin(hours, self.max_hours)
        if isinstance(slot, str):
            return slot
        key = (admission, variable_index, slot)
        cell = self._buffer.get(key)
        if cell is None:
            self._buffer[key] = [value, 1.0]
            if len(self._buffer) >= self.buffer_size:
                self.flush()
        else:
            cell[0] += value
            cell[1] += 1.0
        self.events += 1
        return None

    def flush(self) -> None:
        """Merge the in-memory buffer into the SQLite file."""
        if not self._buffer:
            return
        self._db.executemany(
            "INSERT INTO bins (adm, var, hour, total, n) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(adm, var, hour) DO UPDATE SET total = total + excluded.total, "
            "n = n + excluded.n",
            ((a, v, h, c[0], int(c[1])) for (a, v, h), c in self._buffer.items()),
        )
        self._db.commit()
        self._buffer.clear()

    def series(self, admission: str) -> LabSeries | None:
        """The hourly series of one admission (None when it has no event)."""
        self.flush()
        rows = self._db.execute(
            "SELECT var, hour, total, n FROM bins WHERE adm = ?", (admission,)
        ).fetchall()
        return series_from_bins({(v, h): (t, n) for v, h, t, n in rows}, self.variables)
