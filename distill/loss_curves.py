"""The training loss curves of a run: read, judged against a uniform guess, plotted.

The trainer writes one JSON line per optimiser step to ``OUTPUT/phaseN/metrics.jsonl``
(``loss``, ``lm_loss``, ``aux_loss`` in phase 2, ``lr``, ...) and exports the last
phase's student to ``OUTPUT/model``. A per-token cross-entropy above ``ln |vocab|``
is worse than guessing every token uniformly: a phase that ends there has learnt
nothing, and :func:`phase_learning_notes` says so in words.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

__all__ = [
    "METRICS_FILE",
    "find_run_dir",
    "phase_learning_notes",
    "plot_loss_curves",
    "read_phase_metrics",
]

logger = logging.getLogger(__name__)

#: The per-step metrics file of each phase folder.
METRICS_FILE = "metrics.jsonl"

_PHASES = (1, 2, 3)
_SERIES = (("loss", "total loss"), ("lm_loss", "LM loss"), ("aux_loss", "aux (caption) loss"))


def _has_metrics(folder: Path) -> bool:
    return any((folder / f"phase{p}" / METRICS_FILE).is_file() for p in _PHASES)


def find_run_dir(model_dir: str | Path) -> Path | None:
    """The training output folder of a saved student, or None when it cannot be found.

    ``OUTPUT/model`` and ``OUTPUT/phaseN/final`` both lead to ``OUTPUT``: the first of
    the model folder, its parent and its grandparent that holds ``phaseN/metrics.jsonl``.
    """
    folder = Path(model_dir).resolve()
    for candidate in (folder, folder.parent, folder.parent.parent):
        if _has_metrics(candidate):
            return candidate
    return None


def read_phase_metrics(run_dir: str | Path) -> dict[int, list[dict[str, float]]]:
    """The per-step metrics of each phase that has a ``metrics.jsonl`` (unreadable lines skipped).

    Args:
        run_dir: The training output folder.

    Returns:
        Phase number to its steps in order (each a dict with at least ``step`` and ``loss``).
    """
    out: dict[int, list[dict[str, float]]] = {}
    for phase in _PHASES:
        path = Path(run_dir) / f"phase{phase}" / METRICS_FILE
        if not path.is_file():
            continue
        rows: list[dict[str, float]] = []
        bad = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                rows.append({k: float(v) for k, v in record.items() if isinstance(v, int | float)})
            except (ValueError, TypeError):
                bad += 1
        if bad:
            logger.warning("%s: %d unreadable line(s) skipped", path, bad)
        rows = [r for r in rows if "step" in r and "loss" in r]
        if rows:
            out[phase] = sorted(rows, key=lambda r: r["step"])
    return out


def _mean_of(rows: list[dict[str, float]], key: str) -> float | None:
    values = [r[key] for r in rows if key in r and math.isfinite(r[key])]
    return sum(values) / len(values) if values else None


def phase_learning_notes(
    metrics: dict[int, list[dict[str, float]]], vocab_size: int | None = None, window: int = 5
) -> list[str]:
    """Say in words which phase ended without learning.

    A phase ends without learning when the mean of a loss over its last ``window`` steps
    is above a uniform guess over the vocabulary (``ln vocab_size`` nats per token), or
    when its total loss fell by less than 5% from its first ``window`` steps.

    Args:
        metrics: From :func:`read_phase_metrics`.
        vocab_size: The student's vocabulary size (None: no uniform-guess check).
        window: Steps averaged at each end.

    Returns:
        One sentence per phase that did not learn (empty when all did).
    """
    notes = []
    uniform = math.log(vocab_size) if vocab_size and vocab_size > 1 else None
    for phase, rows in sorted(metrics.items()):
        head, tail = rows[:window], rows[-window:]
        if uniform is not None:
            for key, label in _SERIES[1:]:
                end = _mean_of(tail, key)
                if end is not None and end > uniform:
                    notes.append(
                        f"phase {phase} ended without learning: its {label} is {end:.2f} nats "
                        f"per token over the last steps, above a uniform guess over the "
                        f"{vocab_size}-token vocabulary (ln {vocab_size} = {uniform:.2f})"
                    )
        start, end = _mean_of(head, "loss"), _mean_of(tail, "loss")
        if len(rows) > 2 * window and start is not None and end is not None and end > 0.95 * start:
            notes.append(
                f"phase {phase}'s loss did not fall: {start:.3f} over its first {window} steps, "
                f"{end:.3f} over its last {window}"
            )
    return notes


def _tick_label(value: float, _: object) -> str:
    """Plain numbers on a log axis, only 1, 2, 3 and 5 of each decade (no crowding)."""
    text = f"{value:g}"
    return text if text.lstrip("0.")[:1] in ("1", "2", "3", "5") else ""


def plot_loss_curves(
    metrics: dict[int, list[dict[str, float]]], png: str | Path, *, vocab_size: int | None = None
) -> Path:
    """Plot each phase's total, LM and aux losses per step, with the uniform-guess line.

    Args:
        metrics: From :func:`read_phase_metrics`.
        png: The file written.
        vocab_size: The student's vocabulary size; draws ``ln vocab_size`` when given.

    Returns:
        The PNG written.

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    from ctk.errors import MissingDependencyError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError as e:
        raise MissingDependencyError("matplotlib", "eval") from e
    phases = sorted(metrics)
    fig, axes = plt.subplots(1, max(len(phases), 1), figsize=(4.5 * max(len(phases), 1), 3.8))
    axes_list = list(axes) if len(phases) > 1 else [axes]
    uniform = math.log(vocab_size) if vocab_size and vocab_size > 1 else None
    for ax, phase in zip(axes_list, phases, strict=False):
        rows = metrics[phase]
        for key, label in _SERIES:
            points = [(r["step"], r[key]) for r in rows if key in r]
            if key == "lm_loss" and all(r.get("lm_loss") == r.get("loss") for r in rows):
                continue  # no aux loss: the LM loss is the total loss
            if points:
                ax.plot(*zip(*points, strict=True), label=label, linewidth=1)
        if uniform is not None:
            ax.axhline(
                uniform,
                color="black",
                linestyle="--",
                linewidth=1,
                label=f"uniform guess (ln {vocab_size} = {uniform:.2f})",
            )
        ax.set_title(f"phase {phase}")
        ax.set_xlabel("step")
        ax.set_ylabel("nats per token (log scale)")
        ax.set_yscale("log")  # losses span 40 down to 0.01 over a run
        plain = FuncFormatter(_tick_label)
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.legend(fontsize=7)
    fig.suptitle("Training loss per phase")
    fig.tight_layout()
    out = Path(png)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
