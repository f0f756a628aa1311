"""The three-phase trainer (Accelerate): checkpoints, exact resume, metrics.

Output folder::

    OUTPUT/
      run_config.json                  the resolved RunConfig
      phase1/ phase2/ phase3/
        checkpoint-00000500/           model.safetensors, optimizer.pt, scheduler.pt,
                                       rng.pkl, trainer_state.json
        metrics.jsonl                  one line per optimiser step
        final/                         the student after the phase (save_pretrained)
      model/                           the student after the last phase run

Phase ``p > 1`` starts from ``phase{p-1}/final`` when it exists. ``resume=True``
skips finished phases and continues an unfinished one from its latest
checkpoint: model, optimiser, scheduler, the Python/NumPy/torch RNG states and
the data position (epoch, batch) are restored, so the resumed run ends with the
same weights as an uninterrupted one with the same seed. Data order is a
permutation drawn from ``(seed, phase, epoch)`` only.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ctk.distill.config import RunConfig
from ctk.distill.constrained import rationale_facts
from ctk.distill.data.collator import PhaseCollator
from ctk.distill.data.examples import ExampleSet, build_examples, read_vocabulary_names
from ctk.distill.learning import PhaseLearning, check_learning
from ctk.distill.lora import add_lora
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.distill.phases import apply_phase, check_phase_plan
from ctk.errors import CheckpointError, ConfigError

__all__ = [
    "CHECKPOINT_PREFIX",
    "FINAL_DIR",
    "MODEL_DIR",
    "PhaseResult",
    "StepCallback",
    "TrainResult",
    "check_vocabulary",
    "latest_checkpoint",
    "phases_to_run",
    "train",
]

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
FINAL_DIR = "final"
MODEL_DIR = "model"
_DONE_FILE = "phase_done.json"

#: Called after each optimiser step with (phase, global_step, metrics); may raise to stop.
StepCallback = Callable[[int, int, dict[str, float]], None]


@dataclass
class PhaseResult:
    """What one phase did.

    Attributes:
        phase: 1, 2 or 3.
        steps: Optimiser steps taken in total (including before a resume).
        final_loss: Mean loss of the last logged step.
        tokens_per_s: Source + target tokens per second over this process's run.
        seconds: Wall time of this process's run of the phase.
        model_dir: Where the phase's student was saved.
        skipped: True when the phase was already finished (resume).
        learning: Whether the phase learned, in words (:func:`ctk.distill.learning.check_learning`;
            None when too short to judge).
    """

    phase: int
    steps: int
    final_loss: float
    tokens_per_s: float
    seconds: float
    model_dir: Path
    skipped: bool = False
    learning: PhaseLearning | None = None


@dataclass
class TrainResult:
    """What a run did: one result per phase, the final model folder, notes for the user."""

    phases: list[PhaseResult] = field(default_factory=list)
    model_dir: Path | None = None
    notes: list[str] = field(default_factory=list)


def phases_to_run(cfg: RunConfig, phase: int | str) -> list[int]:
    """The phases ``--phase`` selects.

    ``all`` is 1-3; 1 only for a notes-only student; 3 only for the single-phase schedule.

    Raises:
        ConfigError: Unknown phase, or phase 2/3 on a notes-only student.
    """
    single = cfg.train.schedule == "single_phase" and cfg.student.use_labs
    if str(phase) == "all":
        if single:
            return [3]
        return [1, 2, 3] if cfg.student.use_labs else [1]
    try:
        p = int(phase)
    except ValueError:
        p = -1
    if p not in (1, 2, 3):
        raise ConfigError(f"--phase must be 1, 2, 3 or all, not {phase!r}")
    if p > 1 and not cfg.student.use_labs:
        raise ConfigError(
            f"phase {p} trains the lab pathway, but student.use_labs is false",
            hint="run phase 1 only, or set student.use_labs: true",
        )
    if single and p != 3:
        raise ConfigError(
            f"train.schedule is single_phase: its one phase is 3, not {p}",
            hint="pass --phase all (or 3)",
        )
    return [p]


def latest_checkpoint(phase_dir: Path) -> Path | None:
    """The checkpoint with the highest step in a phase folder, or None."""
    found = sorted(
        (
            p
            for p in phase_dir.glob(CHECKPOINT_PREFIX + "*")
            # a `.partial` folder is a checkpoint a kill interrupted while it was written
            if p.name[len(CHECKPOINT_PREFIX) :].isdigit() and (p / "trainer_state.json").is_file()
        ),
        key=lambda p: int(p.name[len(CHECKPOINT_PREFIX) :]),
    )
    return found[-1] if found else None


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out: dict[str, str] = {}
    for dist in ("clinragen-toolkit", "torch", "transformers", "peft", "accelerate"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "absent"
    return out


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _initial_student(cfg: RunConfig, phase: int, vocab: list[str] | None) -> ClinRaGenStudent:
    prev = cfg.output_dir / f"phase{phase - 1}" / FINAL_DIR
    if phase > 1 and (prev / "ctk_config.json").is_file():
        logger.info("phase %d starts from %s", phase, prev)
        return ClinRaGenStudent.from_pretrained(prev)
    if phase > 1 and cfg.train.schedule == "three_phase":
        logger.warning("phase %d: no phase-%d model in %s, starting fresh", phase, phase - 1, prev)
    return ClinRaGenStudent.build(cfg.student, vocab, seed=cfg.train.seed)


def _optimizer(
    model: torch.nn.Module,
    lr: float,
    weight_decay: float,
    head_lr: float | None = None,
    head_weight_decay: float | None = None,
) -> torch.optim.Optimizer:
    """AdamW; no decay on norms and biases; the head's own lr and decay where given."""
    head_decay = weight_decay if head_weight_decay is None else head_weight_decay
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_norm = "norm" in name.lower() or name.endswith("bias") or p.ndim < 2
        groups.setdefault((name.startswith("head."), is_norm), []).append(p)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "weight_decay": 0.0 if is_norm else (head_decay if is_head else weight_decay),
                "lr": head_lr if is_head and head_lr is not None else lr,
            }
            for (is_head, is_norm), params in sorted(groups.items())
        ],
        lr=lr,
    )


def _save_checkpoint(
    folder: Path,
    model: torch.nn.Module,
    optimizer: Any,
    scheduler: Any,
    state: dict[str, Any],
    keep: int,
) -> Path:
    from safetensors.torch import save_model

    final = folder / f"{CHECKPOINT_PREFIX}{state['global_step']:08d}"
    tmp = folder / (final.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    with (tmp / "rng.pkl").open("wb") as fh:
        pickle.dump(_rng_state(), fh)
    (tmp / "trainer_state.json").write_text(json.dumps(state, indent=2, default=str) + "\n")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    old = sorted(
        (p for p in folder.glob(CHECKPOINT_PREFIX + "*") if not p.name.endswith(".partial")),
        key=lambda p: int(p.name[len(CHECKPOINT_PREFIX) :]),
    )
    for p in old[:-keep]:
        shutil.rmtree(p, ignore_errors=True)
    return final


def _load_checkpoint(
    ckpt: Path, model: torch.nn.Module, optimizer: Any, scheduler: Any
) -> dict[str, Any]:
    from safetensors.torch import load_model

    try:
        load_model(model, str(ckpt / "model.safetensors"))
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", weights_only=True))
        with (ckpt / "rng.pkl").open("rb") as fh:
            rng = pickle.load(fh)
        state: dict[str, Any] = json.loads((ckpt / "trainer_state.json").read_text())
    except (OSError, RuntimeError, KeyError, ValueError) as e:
        raise CheckpointError(
            f"cannot resume from {ckpt}: {e}",
            hint="the checkpoint is incomplete or from another config; delete it or start over",
        ) from e
    _set_rng_state(rng)
    return state


class _MetricsLog:
    def __init__(self, path: Path, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.path = path
        self.writer: Any = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(log_dir=str(path.parent / "tensorboard"))
            except ImportError:
                logger.debug("tensorboard not installed: metrics go to JSONL only")

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for k, v in record.items():
                if isinstance(v, float) and k not in ("time",):
                    self.writer.add_scalar(f"phase{record['phase']}/{k}", v, record["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _train_phase(
    cfg: RunConfig,
    phase: int,
    examples: ExampleSet,
    vocab: list[str] | None,
    *,
    resume: bool,
    on_step: StepCallback | None,
) -> PhaseResult:
    from accelerate import Accelerator
    from transformers import get_cosine_schedule_with_warmup

    tc = cfg.train
    pc = tc.phases[phase]
    phase_dir = cfg.output_dir / f"phase{phase}"
    final_dir = phase_dir / FINAL_DIR
    if resume and (final_dir / _DONE_FILE).is_file():
        done = json.loads((final_dir / _DONE_FILE).read_text())
        logger.info("phase %d already finished: skipped", phase)
        return PhaseResult(
            phase,
            int(done["steps"]),
            float(done["final_loss"]),
            0.0,
            0.0,
            final_dir,
            True,
            check_learning(phase_dir / "metrics.jsonl", phase, done.get("vocab_size")),
        )
    ckpt = latest_checkpoint(phase_dir) if resume else None
    if not resume and phase_dir.exists() and any(phase_dir.iterdir()):
        raise CheckpointError(
            f"{phase_dir} already holds a run",
            hint="pass --resume to continue it, or choose another output_dir",
        )

    mp = tc.mixed_precision
    if mp == "auto":
        mp = "bf16" if torch.cuda.is_available() else "no"
    # cpu=True on a machine without CUDA: Accelerate then also joins the process group
    # that torchrun / `accelerate launch` set up (gloo), instead of silently training
    # one independent copy per process.
    accelerator = Accelerator(
        mixed_precision=mp,
        gradient_accumulation_steps=tc.grad_accum,
        cpu=not torch.cuda.is_available(),
    )
    if tc.cpu_threads and accelerator.device.type == "cpu":
        torch.set_num_threads(tc.cpu_threads)
    _seed_everything(tc.seed + phase)
    student = _initial_student(cfg, phase, vocab)
    if tc.lora.enabled:
        add_lora(student, tc.lora)
    apply_phase(
        student, phase, train_all=tc.schedule == "single_phase" and phase == 3, groups=pc.train
    )
    if tc.gradient_checkpointing and phase != 2:
        student.lm.gradient_checkpointing_enable()
    student.train()

    optimizer = _optimizer(student, pc.lr, tc.weight_decay, pc.head_lr, pc.head_weight_decay)
    n = len(examples.examples)
    per_step = tc.batch_size * accelerator.num_processes * tc.grad_accum
    steps_per_epoch = max(1, math.ceil(n / per_step))
    total = pc.max_steps or max(1, math.ceil(pc.epochs * steps_per_epoch))
    scheduler = get_cosine_schedule_with_warmup(optimizer, min(tc.warmup_steps, total), total)
    model, optimizer = accelerator.prepare(student, optimizer)

    state: dict[str, Any] = {"phase": phase, "global_step": 0, "epoch": 0, "batch_in_epoch": 0}
    if ckpt is not None:
        state = _load_checkpoint(ckpt, accelerator.unwrap_model(model), optimizer, scheduler)
        logger.info("phase %d resumes from %s (step %d)", phase, ckpt, state["global_step"])
    state.update(
        {
            "total_steps": total,
            "seed": tc.seed,
            "config": json.loads(cfg.model_dump_json()),
            "versions": _versions(),
        }
    )
    collator = PhaseCollator(
        student.tokenizer,
        phase,
        n_variables=len(cfg.student.lab_variables),
        use_labs=cfg.student.use_labs,
        lab_prompt=cfg.student.lab_prompt,
        max_source_len=tc.max_source_len,
        max_target_len=tc.max_target_len,
        include_rationale=cfg.data.include_rationale,
        causal=student.is_causal,
    )
    is_main = accelerator.is_main_process
    if is_main:
        phase_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = phase_dir / "metrics.jsonl"
    if is_main and metrics_path.is_file():  # drop lines past the step we restart from
        kept = [
            line
            for line in metrics_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= state["global_step"]
        ]
        metrics_path.write_text("".join(x + "\n" for x in kept), encoding="utf-8")
    log = _MetricsLog(metrics_path, is_main, tc.tensorboard)
    aux_weight = pc.aux_weight if phase == 2 else 0.0
    t0 = time.perf_counter()
    tokens = 0
    window: list[float] = []
    last_loss = float("nan")
    try:
        while state["global_step"] < total:
            order = np.random.default_rng([tc.seed, phase, state["epoch"]]).permutation(n)
            data = [examples.examples[i] for i in order]
            loader = torch.utils.data.DataLoader(
                data,  # type: ignore[arg-type]
                batch_size=tc.batch_size,
                shuffle=False,
                collate_fn=collator,
                num_workers=tc.num_workers,
                generator=torch.Generator().manual_seed(tc.seed + state["epoch"]),
            )
            loader = accelerator.prepare_data_loader(loader)
            if state["batch_in_epoch"]:
                loader = accelerator.skip_first_batches(loader, state["batch_in_epoch"])
            for batch in loader:
                state["batch_in_epoch"] += 1
                batch.pop("admission_ids", None)
                tokens += int(batch["attention_mask"].sum()) + int((batch["labels"] != -100).sum())
                with accelerator.accumulate(model):
                    out = model(**batch, aux_weight=aux_weight, head_weight=pc.head_weight)
                    accelerator.backward(out.loss)
                    window.append(float(out.loss.detach()))
                    if accelerator.sync_gradients:
                        if tc.max_grad_norm > 0:
                            accelerator.clip_grad_norm_(model.parameters(), tc.max_grad_norm)
                        optimizer.step()
                        scheduler.step()
                        optimizer.zero_grad(set_to_none=True)
                if not accelerator.sync_gradients:
                    continue
                state["global_step"] += 1
                step = state["global_step"]
                last_loss = sum(window) / len(window)
                window = []
                elapsed = time.perf_counter() - t0
                metrics = {
                    "loss": last_loss,
                    "lm_loss": float(out.lm_loss.detach())
                    if out.lm_loss is not None
                    else last_loss,
                    "lr": float(scheduler.get_last_lr()[0]),
                    "tokens_per_s": tokens / elapsed if elapsed > 0 else 0.0,
                }
                if out.aux_loss is not None:
                    metrics["aux_loss"] = float(out.aux_loss.detach())
                if out.head_loss is not None:
                    metrics["head_loss"] = float(out.head_loss.detach())
                log.write(
                    {
                        "phase": phase,
                        "step": step,
                        "epoch": state["epoch"],
                        **metrics,
                        "time": elapsed,
                    }
                )
                if step % tc.log_every == 0:
                    logger.info("phase %d step %d/%d loss %.4f", phase, step, total, last_loss)
                if tc.save_every and step % tc.save_every == 0 and step < total:
                    accelerator.wait_for_everyone()
                    if is_main:
                        _save_checkpoint(
                            phase_dir,
                            accelerator.unwrap_model(model),
                            optimizer,
                            scheduler,
                            state,
                            tc.keep_checkpoints,
                        )
                if on_step is not None:
                    on_step(phase, step, metrics)
                if step >= total:
                    break
            else:
                state["epoch"] += 1
                state["batch_in_epoch"] = 0
    finally:
        log.close()
    seconds = time.perf_counter() - t0
    accelerator.wait_for_everyone()
    unwrapped: ClinRaGenStudent = accelerator.unwrap_model(model)
    vocab_size = len(unwrapped.tokenizer)
    if is_main:
        unwrapped.eval()
        unwrapped.save_pretrained(final_dir)
        done_record = {
            "phase": phase,
            "steps": state["global_step"],
            "final_loss": last_loss,
            "vocab_size": vocab_size,
        }
        (final_dir / _DONE_FILE).write_text(json.dumps(done_record) + "\n")
    accelerator.wait_for_everyone()
    learning = check_learning(metrics_path, phase, vocab_size)
    if learning is not None:
        (logger.info if learning.learned else logger.warning)(
            "phase %d %s", phase, learning.message
        )
    return PhaseResult(
        phase=phase,
        steps=int(state["global_step"]),
        final_loss=last_loss,
        tokens_per_s=tokens / seconds if seconds > 0 else 0.0,
        seconds=seconds,
        model_dir=final_dir,
        learning=learning,
    )


def check_vocabulary(cfg: RunConfig, vocab: list[str] | None) -> list[str]:
    """Check that the student's tokenizer can encode the V_k names it will embed.

    A name whose tokens are all the unknown token embeds as the unknown token's
    embedding: it carries no meaning. Some such names are reported; all of them
    is a V_k that is empty in effect, and refused.

    Args:
        cfg: The run config (``student.lm_path``, ``max_vocab``).
        vocab: The V_k names (None: the built-in names).

    Returns:
        Notes for the user (empty when every name encodes).

    Raises:
        ConfigError: No V_k name can be encoded.
    """
    from transformers import AutoTokenizer

    from ctk.distill.modeling.student import default_vocabulary, unencodable_names
    from ctk.distill.pretrained import resolve_lm_source

    names = (vocab or default_vocabulary())[: cfg.student.max_vocab]
    if not names:
        raise ConfigError("the knowledge vocabulary V_k is empty", hint="re-run `ctk kg vocab`")
    source = resolve_lm_source(cfg.student.lm_path, cfg.student.gguf_file)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, **source.kwargs())
    except (OSError, ValueError) as e:
        raise CheckpointError(
            f"cannot load the tokenizer of {cfg.student.lm_path!r}: {e}",
            hint="pass a local model folder (e.g. from `ctk distill init-tiny`)",
        ) from e
    partly, wholly = unencodable_names(names, tokenizer)
    where = cfg.data.vocabulary or "the built-in V_k"
    if len(wholly) == len(names):
        raise ConfigError(
            f"none of the {len(names)} V_k names in {where} can be encoded by the student's "
            "tokenizer (every token unknown): the knowledge vocabulary would be empty",
            hint="build the tiny LM with `ctk distill init-tiny --vocabulary VK.jsonl`, "
            "or use a V_k in the LM's language",
        )
    if not partly:
        return []
    note = (
        f"{len(partly)} of {len(names)} V_k names in {where} hold words the student's "
        f"tokenizer cannot encode ({len(wholly)} wholly, e.g. {partly[0]!r}): those words "
        "embed as the unknown token"
    )
    logger.warning(note)
    return [note]


def train(
    cfg: RunConfig,
    phase: int | str = "all",
    *,
    resume: bool = False,
    examples: ExampleSet | None = None,
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Train the student phase by phase.

    Args:
        cfg: The run config.
        phase: ``1``, ``2``, ``3`` or ``"all"``.
        resume: Skip finished phases; continue an unfinished one from its latest checkpoint.
        examples: Pre-built training examples (default: built from ``cfg.data``).
        on_step: Called after every optimiser step (tests use it to interrupt a run).

    Returns:
        Per-phase results and the final model folder (``OUTPUT/model``).

    Raises:
        ConfigError: Bad phase selection.
        CheckpointError: Output exists without ``resume``, or a checkpoint is unusable.
        DataError: The training split is empty.

    Example:
        >>> result = train(load_run_config("run.yaml"), "all")  # doctest: +SKIP
    """
    phases = phases_to_run(cfg, phase)
    check_phase_plan(cfg, phases)
    vocab = read_vocabulary_names(cfg.data.vocabulary) if cfg.data.vocabulary else None
    notes: list[str] = []
    if cfg.student.use_labs and cfg.student.use_knowledge:
        notes.extend(check_vocabulary(cfg, vocab))
    cfg.output_dir.mkdir(parents=True, exist_ok=True)
    (cfg.output_dir / "run_config.json").write_text(cfg.model_dump_json(indent=2) + "\n")
    if examples is None:
        examples = build_examples(
            cfg.data.cohort,
            cfg.student.lab_variables,
            cfg.student.max_hours,
            split=cfg.data.train_split,
            rationales=cfg.data.rationales,
            max_admissions=cfg.data.max_admissions,
        )
    if cfg.student.constrain_facts and not cfg.student.rationale_facts:
        texts = (f"{e.note_rationale} {e.lab_rationale}" for e in examples.examples)
        cfg.student.rationale_facts = rationale_facts(texts)
        if not cfg.student.rationale_facts:
            notes.append("constrain_facts: the training rationales state no fact; not constrained")
    result = TrainResult(notes=notes)
    for p in phases:
        result.phases.append(_train_phase(cfg, p, examples, vocab, resume=resume, on_step=on_step))
    last = result.phases[-1].model_dir
    model_dir = cfg.output_dir / MODEL_DIR
    from accelerate import PartialState

    state = PartialState()  # the process group the phases' Accelerator joined
    if state.is_main_process:  # one process writes the exported model
        if model_dir.exists():
            shutil.rmtree(model_dir)
        shutil.copytree(last, model_dir)
    state.wait_for_everyone()
    result.model_dir = model_dir
    return result
