"""The training loss curves of a run: read, judged against a uniform guess, plotted.

The trainer writes one JSON line per optimiser step to ``OUTPUT/phaseN/metrics.jsonl``
(``loss``, ``lm_loss``, ``aux_loss`` in phase 2, ``lr``, ...) and exports the last
phase's student to ``OUTPUT/model``. A per-token cross-entropy above ``ln |vocab|``
is worse than guessing every token uniformly: a phase that ends there has learnt
nothing, and :func:`ctk.distill.learning.learning_notes` says so in words (the one
rule of :mod:`ctk.distill.learning`, also used by ``ctk distill run``).
"""

from __future__ import annotations

import math
from pathlib import Path

from ctk.distill.learning import read_metrics_file

__all__ = [
    "METRICS_FILE",
    "find_run_dir",
    "plot_loss_curves",
    "read_phase_metrics",
]

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
        rows = read_metrics_file(Path(run_dir) / f"phase{phase}" / METRICS_FILE)
        rows = [r for r in rows if "step" in r and "loss" in r]
        if rows:
            out[phase] = sorted(rows, key=lambda r: r["step"])
    return out


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
