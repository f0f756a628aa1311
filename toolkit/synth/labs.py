"""Synthetic lab and vital-sign series in the benchmark's ``*_timeseries.csv`` shape.

Each variable has a measurement schedule (vitals about hourly with gaps,
temperature and GCS every few hours, glucose every 4-8 hours, pH in some stays,
FiO2 only for patients on oxygen, weight once or twice, height in a third of
stays, capillary refill rarely) and values drawn around a per-stay baseline.
Positive phenotypes shift baselines and plant anomaly episodes, as the
planted-signal table says (:mod:`ctk.synth.profiles`). Mean blood pressure is
derived from systolic and diastolic pressure, so they stay consistent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ctk.lab_variables import BENCHMARK_VARIABLES
from ctk.synth.profiles import LabEffect, PhenotypeProfile

__all__ = ["LabRow", "format_hours", "generate_labs"]

#: One CSV row: minutes since admission and the 17 cells (empty = missing).
LabRow = tuple[int, list[str]]

_Put = Callable[[str, np.ndarray, list[str]], None]

_COLUMN = {name: i for i, name in enumerate(BENCHMARK_VARIABLES)}

_GROUP = {
    "Heart Rate": "vitals",
    "Systolic blood pressure": "vitals",
    "Diastolic blood pressure": "vitals",
    "Mean blood pressure": "vitals",
    "Respiratory rate": "vitals",
    "Oxygen saturation": "vitals",
    "Temperature": "temp",
    "Glucose": "glucose",
    "pH": "ph",
    "Fraction inspired oxygen": "fio2",
    "Weight": "weight",
}


@dataclass(frozen=True, slots=True)
class _Baseline:
    mean: float  # population mean of a stay's baseline
    spread: float  # sd of the baseline across stays
    noise: float  # sd within a stay
    low: float  # physiological clip
    high: float
    decimals: int


_BASELINES: dict[str, _Baseline] = {
    "Heart Rate": _Baseline(84, 10, 7, 25, 200, 0),
    "Systolic blood pressure": _Baseline(120, 12, 9, 40, 250, 0),
    "Diastolic blood pressure": _Baseline(62, 7, 6, 15, 140, 0),
    "Respiratory rate": _Baseline(18, 2.5, 2.5, 6, 50, 0),
    "Oxygen saturation": _Baseline(97, 1.0, 1.0, 70, 100, 0),
    "Temperature": _Baseline(36.9, 0.25, 0.3, 34.5, 41.5, 1),
    "Glucose": _Baseline(118, 10, 14, 45, 600, 0),
    "pH": _Baseline(7.39, 0.025, 0.03, 6.9, 7.6, 2),
    "Fraction inspired oxygen": _Baseline(0.4, 0.06, 0.05, 0.21, 1.0, 2),
    "Weight": _Baseline(80, 17, 0.8, 35, 200, 1),
}

_MEAN_BP = _Baseline(0, 0, 0, 10, 200, 0)  # derived from systolic and diastolic

_EYE = ("4 Spontaneously", "3 To speech", "2 To pain", "1 No Response")
_MOTOR = (
    "6 Obeys Commands",
    "5 Localizes Pain",
    "4 Flex-withdraws",
    "3 Abnorm flexion",
    "2 Abnorm extensn",
    "1 No Response",
)
_VERBAL = ("5 Oriented", "4 Confused", "3 Inapprop words", "2 Incomp sounds", "1 No Response")
_ET_TRACH = "1.0 ET/Trach"

_IMPAIRED_BY = frozenset(
    {
        "Acute cerebrovascular disease",
        "Other liver diseases",
        "Septicemia (except in labor)",
    }
)
_INTUBATED_BY = "Respiratory failure; insufficiency; arrest (adult)"


def format_hours(minutes: int) -> str:
    """Hours as the CSVs write them: ``0.0``, ``0.25``, ``1.5``, ``3.1667``."""
    text = f"{minutes / 60:.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _every(rng: np.random.Generator, n: int, step: int, keep: float) -> np.ndarray:
    """Indices 0..n-1 every ``step`` from a random phase, each kept with ``keep``."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.arange(int(rng.integers(0, step)), n, step)
    return idx[rng.random(idx.size) < keep]


def _episodes(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """1-3 runs (start, length) of consecutive measurements among ``n``."""
    runs = 1 + int(rng.random() < 0.5) + int(rng.random() < 0.2)
    out: list[tuple[int, int]] = []
    for _ in range(runs):
        length = min(n, int(rng.integers(1, 6)))
        out.append((int(rng.integers(0, n - length + 1)), length))
    return out


def generate_labs(
    rng: np.random.Generator,
    positives: Sequence[PhenotypeProfile],
    background: Sequence[LabEffect],
    length_minutes: int,
) -> list[LabRow]:
    """Generate one stay's time series.

    Args:
        rng: The stay's random generator (consumed deterministically).
        positives: Profiles of the stay's positive phenotypes, in table order.
        background: Spurious episodes any stay may show.
        length_minutes: Length of stay; every measurement lies before it.

    Returns:
        Rows sorted by time, each the minute offset and 17 cells in
        :data:`ctk.lab_variables.BENCHMARK_VARIABLES` order.
    """
    n_hours = max(1, math.ceil(length_minutes / 60))
    names = {p.name for p in positives}

    # Which effects fire, decided first so that their schedules exist.
    fired: list[LabEffect] = []
    shifts: dict[str, float] = {}
    for effect in [e for p in positives for e in p.labs] + list(background):
        if effect.kind == "shift":
            for var, amount in effect.variables.items():
                shifts[var] = shifts.get(var, 0.0) + float(amount)  # type: ignore[arg-type]
        elif rng.random() < effect.p:
            fired.append(effect)
    needed = {_GROUP[v] for e in fired for v in e.variables}

    # Schedules (minute offsets).
    hours = np.arange(n_hours)
    vit_mask = rng.random(n_hours) < 0.92
    vit_mask[0] = True
    vit_min = hours * 60 + rng.integers(0, 4, n_hours) * 15
    vitals = vit_min[vit_mask & (vit_min < length_minutes)]
    if vitals.size == 0:
        vitals = np.zeros(1, dtype=np.int64)
    n_vit = vitals.size
    temp_t = vitals[_every(rng, n_vit, 4, 0.9)]
    if temp_t.size == 0 and "temp" in needed:
        temp_t = vitals[:1]
    gcs_t = vitals[_every(rng, n_vit, 4, 0.85)]
    on_oxygen = "fio2" in needed or rng.random() < 0.3
    fio2_t = vitals[_every(rng, n_vit, int(rng.integers(2, 5)), 0.9)] if on_oxygen else vitals[:0]
    if on_oxygen and fio2_t.size == 0:
        fio2_t = vitals[:1]
    diabetic = "glucose" in needed
    g_step = 4 if diabetic else int(rng.choice([4, 6, 8]))
    g_hours = _every(rng, n_hours, g_step, 0.9)
    glucose_t = g_hours * 60 + rng.integers(1, 6, g_hours.size) * 10
    glucose_t = glucose_t[glucose_t < length_minutes]
    if glucose_t.size == 0:
        glucose_t = np.array([min(10, length_minutes - 1)], dtype=np.int64)
    has_ph = "ph" in needed or rng.random() < 0.55
    ph_hours = _every(rng, n_hours, int(rng.integers(6, 13)), 0.9) if has_ph else hours[:0]
    ph_t = ph_hours * 60 + 5
    ph_t = ph_t[ph_t < length_minutes]
    if has_ph and ph_t.size == 0:
        ph_t = np.array([min(5, length_minutes - 1)], dtype=np.int64)
    weight_t = vitals[:1] if rng.random() < 0.95 else vitals[:0]
    if weight_t.size and n_vit > 48 and rng.random() < 0.3:
        weight_t = np.array([vitals[0], vitals[n_vit // 2]])
    height_t = vitals[:1] if rng.random() < 0.35 else vitals[:0]
    crr_t = vitals[:0]
    if rng.random() < 0.05:
        crr_t = np.unique(rng.choice(vitals, size=min(n_vit, int(rng.integers(1, 5)))))

    times = {
        "vitals": vitals,
        "temp": temp_t,
        "glucose": glucose_t,
        "ph": ph_t,
        "fio2": fio2_t,
        "weight": weight_t,
    }

    # Values around a per-stay baseline.
    values: dict[str, np.ndarray] = {}
    for var, base in _BASELINES.items():
        n = times[_GROUP[var]].size
        centre = base.mean + base.spread * rng.standard_normal() + shifts.get(var, 0.0)
        values[var] = centre + base.noise * rng.standard_normal(n)
    for effect in fired:
        first = next(iter(effect.variables))
        n = times[_GROUP[first]].size
        if n == 0:
            continue
        for start, length in _episodes(rng, n):
            for var, level in effect.variables.items():
                lo, hi = level  # type: ignore[misc]
                values[var][start : start + length] = rng.uniform(lo, hi, length)
    values["Mean blood pressure"] = (
        values["Systolic blood pressure"] + 2 * values["Diastolic blood pressure"]
    ) / 3 + 2.0 * rng.standard_normal(n_vit)
    values["Oxygen saturation"] = np.minimum(values["Oxygen saturation"], 100.0)
    if "Weight" in values and values["Weight"].size == 2:
        values["Weight"][1] = values["Weight"][0] + rng.normal(0, 1.5)

    rows: dict[int, list[str]] = {}

    def put(var: str, when: np.ndarray, cells: list[str]) -> None:
        col = _COLUMN[var]
        for minute, cell in zip(when.tolist(), cells, strict=True):
            row = rows.get(minute)
            if row is None:
                row = rows[minute] = [""] * len(BENCHMARK_VARIABLES)
            row[col] = cell

    for var, vals in values.items():
        base = _BASELINES.get(var, _MEAN_BP)
        clipped = np.clip(vals, base.low, base.high)
        put(var, times[_GROUP[var]], [f"{v:.{base.decimals}f}" for v in clipped.tolist()])
    if height_t.size:
        put("Height", height_t, [f"{rng.normal(170, 10):.0f}"])
    if crr_t.size:
        put("Capillary refill rate", crr_t, ["1.0" if rng.random() < 0.1 else "0.0" for _ in crr_t])
    _put_gcs(rng, names, gcs_t, put)
    return sorted(rows.items())


def _put_gcs(rng: np.random.Generator, names: set[str], when: np.ndarray, put: _Put) -> None:
    """GCS components as the benchmark's text values, total as a number."""
    if when.size == 0:
        return
    intubated = rng.random() < (0.6 if _INTUBATED_BY in names else 0.03)
    impaired = bool(names & _IMPAIRED_BY) and rng.random() < 0.5
    n = when.size
    eye = np.minimum(rng.geometric(0.4 if intubated else 0.8, n) - 1, 3 if impaired else 1)
    motor = np.minimum(rng.geometric(0.85, n) - 1, 5 if impaired else 2)
    verbal = np.minimum(rng.geometric(0.8, n) - 1 + int(impaired), 4)
    eye_cells = [_EYE[int(i)] for i in eye]
    motor_cells = [_MOTOR[int(i)] for i in motor]
    verbal_cells = [_ET_TRACH if intubated else _VERBAL[int(i)] for i in verbal]
    totals = [
        str((4 - int(e)) + (6 - int(m)) + (1 if intubated else 5 - int(v)))
        for e, m, v in zip(eye, motor, verbal, strict=True)
    ]
    put("Glascow coma scale eye opening", when, eye_cells)
    put("Glascow coma scale motor response", when, motor_cells)
    put("Glascow coma scale verbal response", when, verbal_cells)
    put("Glascow coma scale total", when, totals)
