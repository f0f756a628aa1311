"""Ablation harness: one base run config, the variants a reviewer asks for, one table.

A grid file names axes; each axis has named levels, and a level is a set of
overrides of the base config (dotted keys)::

    seeds: [1, 2, 3]
    mode: one_at_a_time          # or: product
    axes:
      schedule:
        three_phase: {train.schedule: three_phase}
        single_phase: {train.schedule: single_phase}
      knowledge:
        ka: {student.use_knowledge: true}
        projection: {student.use_knowledge: false}
        none: {student.use_labs: false}
      vk_source:
        graph: {data.vocabulary: vk.jsonl}        # relative paths: against the grid file
        builtin: {data.vocabulary: null}
        random: {student.vocab_init: random}
      vk_size:
        k1000: {student.max_vocab: 1000}
        k100: {student.max_vocab: 100}
    eval: {split: test, max_new_tokens: 64}

``one_at_a_time`` (default): the base variant takes every axis's first level;
each other variant changes one axis to one other level. ``product``: every
combination. Every variant runs once per seed. A run's folder is named by the
hash of its resolved config, so a finished run is reused (cache) and an
interrupted one resumes from its last checkpoint.

Outputs (in ``OUT``): ``ablation.md`` and ``ablation.csv`` (mean and sample
standard deviation over seeds of micro- and macro-F1, and mean per-phenotype
F1), ``ablation.png`` (micro-F1 with error bars), and ``runs/HASH/`` (the run
folder, ``result.json``, the evaluation report).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import itertools
import json
import logging
import statistics
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctk.distill.config import RunConfig, invalid_config, load_run_config
from ctk.errors import ConfigError

__all__ = [
    "AblationResult",
    "EvalSettings",
    "GridSpec",
    "Variant",
    "VariantSummary",
    "expand_grid",
    "load_grid",
    "run_ablation",
    "summarise",
    "write_ablation_outputs",
]

logger = logging.getLogger(__name__)

_PATH_KEYS = {"data.cohort", "data.rationales", "data.vocabulary", "student.lm_path"}


class EvalSettings(BaseModel):
    """How each variant is scored (``ctk distill eval`` settings)."""

    model_config = ConfigDict(extra="forbid")

    split: str = "test"
    max_admissions: int = Field(default=0, ge=0)
    max_new_tokens: int = Field(default=64, ge=1)
    batch_size: int = Field(default=16, ge=1)
    phase: int | None = Field(default=None, ge=1, le=3)


class GridSpec(BaseModel):
    """A grid file.

    Attributes:
        seeds: Seeds each variant runs with (``train.seed``).
        mode: ``one_at_a_time`` or ``product``.
        axes: Axis name -> level name -> overrides (dotted keys of the run config).
        eval: Scoring settings.
    """

    model_config = ConfigDict(extra="forbid")

    seeds: list[int] = Field(default_factory=lambda: [42], min_length=1)
    mode: Literal["one_at_a_time", "product"] = "one_at_a_time"
    axes: dict[str, dict[str, dict[str, Any]]] = Field(min_length=1)
    eval: EvalSettings = Field(default_factory=EvalSettings)


class Variant(BaseModel):
    """One named combination of levels and the overrides it applies."""

    name: str
    levels: dict[str, str]
    overrides: dict[str, Any]


class VariantSummary(BaseModel):
    """A variant's scores over its seeds."""

    name: str
    levels: dict[str, str]
    seeds: list[int]
    micro_f1: list[float]
    macro_f1: list[float]
    per_phenotype: dict[str, list[float]]

    @staticmethod
    def _ms(values: list[float]) -> tuple[float, float]:
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    @property
    def micro(self) -> tuple[float, float]:
        """Mean and sample standard deviation of micro-F1."""
        return self._ms(self.micro_f1)

    @property
    def macro(self) -> tuple[float, float]:
        """Mean and sample standard deviation of macro-F1."""
        return self._ms(self.macro_f1)


class AblationResult(BaseModel):
    """What :func:`run_ablation` did."""

    variants: list[VariantSummary]
    files: list[Path]
    trained: int
    reused: int


def load_grid(path: str | Path) -> GridSpec:
    """Read and validate a grid file (YAML or JSON); relative paths resolve against it.

    Raises:
        ConfigError: Missing, unparsable or invalid.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"grid file {p} does not exist", hint="pass --grid FILE.yaml")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        grid = GridSpec.model_validate(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: cannot parse ({e})", hint="check the YAML syntax") from e
    except ValidationError as e:
        raise invalid_config(e, f"{p}: invalid grid", "see docs/distill.md, 'Ablations'") from e
    for levels in grid.axes.values():
        if not levels:
            raise ConfigError(f"{p}: every axis needs at least one level")
        for overrides in levels.values():
            for key in list(overrides):
                value = overrides[key]
                if key in _PATH_KEYS and isinstance(value, str) and not value.startswith("pypi:"):
                    candidate = p.parent / value
                    if not Path(value).is_absolute() and candidate.exists():
                        overrides[key] = str(candidate.resolve())
    return grid


def expand_grid(grid: GridSpec) -> list[Variant]:
    """The variants of a grid (see the module docstring for the two modes)."""
    axes = list(grid.axes.items())
    if grid.mode == "product":
        out = []
        for combo in itertools.product(*[list(levels) for _, levels in axes]):
            levels = {axis: lvl for (axis, _), lvl in zip(axes, combo, strict=True)}
            overrides: dict[str, Any] = {}
            for axis, lvl in levels.items():
                overrides.update(grid.axes[axis][lvl])
            out.append(Variant(name="+".join(combo), levels=levels, overrides=overrides))
        return out
    base_levels = {axis: next(iter(axis_levels)) for axis, axis_levels in axes}
    base_overrides: dict[str, Any] = {}
    for axis, lvl in base_levels.items():
        base_overrides.update(grid.axes[axis][lvl])
    variants = [Variant(name="base", levels=base_levels, overrides=base_overrides)]
    for axis, axis_levels in axes:
        for lvl in list(axis_levels)[1:]:
            changed = {**base_levels, axis: lvl}
            overrides = {**base_overrides, **grid.axes[axis][lvl]}
            variants.append(Variant(name=f"{axis}={lvl}", levels=changed, overrides=overrides))
    return variants


def _apply(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


def _run_hash(cfg: RunConfig) -> str:
    raw = json.loads(cfg.model_dump_json())
    raw.pop("output_dir", None)
    return hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:16]


def run_ablation(
    config: str | Path,
    grid_path: str | Path,
    out_dir: str | Path,
) -> AblationResult:
    """Train and score every variant x seed of a grid; write the table and plot.

    Args:
        config: The base run config (YAML/JSON).
        grid_path: The grid file.
        out_dir: Output folder (runs, table, plot).

    Returns:
        Per-variant summaries, the files written, and how many runs were trained or reused.

    Raises:
        ConfigError: Invalid base config, grid, or a variant that does not validate.
    """
    from ctk.distill.evaluation import evaluate_model, write_report
    from ctk.distill.trainer import train

    base = load_run_config(config)
    base_raw = json.loads(base.model_dump_json())
    grid = load_grid(grid_path)
    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    summaries: list[VariantSummary] = []
    trained = reused = 0
    for variant in expand_grid(grid):
        micro: list[float] = []
        macro: list[float] = []
        per: dict[str, list[float]] = {}
        for seed in grid.seeds:
            raw = _apply(base_raw, {**variant.overrides, "train.seed": seed})
            try:
                cfg = RunConfig.model_validate(raw)
            except ValidationError as e:
                raise invalid_config(
                    e, f"variant {variant.name!r}", "check the grid's override keys and values"
                ) from e
            run_dir = out / "runs" / _run_hash(cfg)
            cfg.output_dir = run_dir / "run"
            result_file = run_dir / "result.json"
            if result_file.is_file():
                record = json.loads(result_file.read_text(encoding="utf-8"))
                reused += 1
            else:
                logger.info("ablation: %s seed %d -> %s", variant.name, seed, run_dir)
                result = train(cfg, "all", resume=True)
                assert result.model_dir is not None
                report = evaluate_model(
                    result.model_dir,
                    cfg.data.cohort,
                    split=grid.eval.split,
                    max_admissions=grid.eval.max_admissions,
                    max_new_tokens=grid.eval.max_new_tokens,
                    batch_size=grid.eval.batch_size,
                    phase=grid.eval.phase,
                )
                write_report(report, run_dir / "eval")
                record = {
                    "variant": variant.name,
                    "levels": variant.levels,
                    "seed": seed,
                    "micro_f1": report.micro["f1"],
                    "macro_f1": report.macro["f1"],
                    "per_phenotype": {s.name: s.f1 for s in report.per_phenotype},
                    "n": report.n,
                }
                tmp = result_file.with_suffix(".partial")
                tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
                tmp.replace(result_file)  # the run counts as done only once this exists
                trained += 1
            micro.append(float(record["micro_f1"]))
            macro.append(float(record["macro_f1"]))
            for name, f1 in record["per_phenotype"].items():
                per.setdefault(name, []).append(float(f1))
        summaries.append(
            VariantSummary(
                name=variant.name,
                levels=variant.levels,
                seeds=list(grid.seeds),
                micro_f1=micro,
                macro_f1=macro,
                per_phenotype=per,
            )
        )
    files = write_ablation_outputs(summaries, out)
    return AblationResult(variants=summaries, files=files, trained=trained, reused=reused)


def summarise(summaries: list[VariantSummary]) -> str:
    """The Markdown table: one row per variant, then mean per-phenotype F1."""
    lines = [
        "| variant | levels | seeds | micro-F1 (mean ± sd) | macro-F1 (mean ± sd) |",
        "|---|---|---|---|---|",
    ]
    for s in summaries:
        (mi, mi_sd), (ma, ma_sd) = s.micro, s.macro
        levels = ", ".join(f"{k}={v}" for k, v in s.levels.items())
        lines.append(
            f"| {s.name} | {levels} | {len(s.seeds)} | {mi:.4f} ± {mi_sd:.4f} "
            f"| {ma:.4f} ± {ma_sd:.4f} |"
        )
    names = sorted({n for s in summaries for n in s.per_phenotype})
    lines += [
        "",
        "Per-phenotype F1 (mean over seeds):",
        "",
        "| phenotype | " + " | ".join(s.name for s in summaries) + " |",
        "|---|" + "---|" * len(summaries),
    ]
    for n in names:
        cells = [
            f"{statistics.fmean(s.per_phenotype[n]):.3f}" if n in s.per_phenotype else "-"
            for s in summaries
        ]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_ablation_outputs(summaries: list[VariantSummary], out_dir: str | Path) -> list[Path]:
    """Write ``ablation.md``, ``ablation.csv`` and (with matplotlib) ``ablation.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = out / "ablation.md", out / "ablation.csv"
    md_path.write_text(summarise(summaries), encoding="utf-8")
    names = sorted({n for s in summaries for n in s.per_phenotype})
    axes = sorted({a for s in summaries for a in s.levels})
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "variant",
                *axes,
                "seeds",
                "micro_f1_mean",
                "micro_f1_sd",
                "macro_f1_mean",
                "macro_f1_sd",
                *(f"f1:{n}" for n in names),
            ]
        )
        for s in summaries:
            writer.writerow(
                [
                    s.name,
                    *(s.levels.get(a, "") for a in axes),
                    len(s.seeds),
                    *(f"{x:.6f}" for x in (*s.micro, *s.macro)),
                    *(
                        f"{statistics.fmean(s.per_phenotype[n]):.6f}"
                        if n in s.per_phenotype
                        else ""
                        for n in names
                    ),
                ]
            )
    files = [md_path, csv_path]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.info("matplotlib not installed: no ablation plot")
        return files
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(summaries)), 4))
    means = [s.micro[0] for s in summaries]
    sds = [s.micro[1] for s in summaries]
    ax.bar([s.name for s in summaries], means, yerr=sds, capsize=4)
    ax.set_ylabel(f"micro-F1 (mean ± sd over {len(summaries[0].seeds)} seeds)")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    png = out / "ablation.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    files.append(png)
    return files
