"""Build a tiny T5 or Llama language model from a config and an offline tokenizer.

The folder it writes is a normal ``AutoModelForSeq2SeqLM`` (T5) or
``AutoModelForCausalLM`` (Llama) folder (weights + tokenizer) usable as
``student.lm_path``; nothing is downloaded. Used by tests,
the README demo and the mechanism check (``ctk distill init-tiny``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ctk.distill.config import TinyLMSpec
from ctk.distill.targets import RATIONALE_HEADER, format_target, phenotype_surface_names
from ctk.distill.tokenizer import load_t5_tokenizer, train_t5_tokenizer, train_word_tokenizer

__all__ = ["build_tiny_lm", "cohort_texts", "tiny_run_config"]

logger = logging.getLogger(__name__)


def cohort_texts(
    cohort: str | Path,
    limit: int = 2000,
    *,
    rationales: str | Path | None = None,
    vocabulary: str | Path | None = None,
    lab_prompt: str = "Diagnose from the lab tests.",
    splits: tuple[str, ...] = ("train",),
) -> Iterator[str]:
    """Texts to train a tokenizer on: everything the student reads or writes.

    Only the admissions of ``splits`` (and those with no split assigned) are read,
    so that no word is learnt from the validation or test notes.

    Notes, target-shaped lines (every phenotype short name followed by ``,`` and by
    ``.``, so that any diagnosis list can be written), phenotype names, captions,
    the teacher's rationales, the V_k names and the phase-2 prompt.

    Args:
        cohort: Cohort folder or admissions JSONL.
        limit: Admissions read at most.
        rationales: Rationale JSONL (``ctk rationale generate``), or None.
        vocabulary: V_k JSONL (``ctk kg vocab``), or None for the built-in V_k names.
        lab_prompt: The phase-2 encoder text.
        splits: Splits whose admissions are read; an admission without a split
            is always read.

    Yields:
        Lines of text.
    """
    from ctk.cohort import iter_admissions
    from ctk.distill.constrained import diagnosis_prefix
    from ctk.distill.data.examples import lab_captions, read_rationales, read_vocabulary_names
    from ctk.phenotypes import phenotypes
    from ctk.records import strip_template_label

    yield from phenotype_surface_names()
    yield lab_prompt
    yield diagnosis_prefix([]) + " " + RATIONALE_HEADER
    for p in phenotypes():
        yield diagnosis_prefix([p.short_name, p.short_name])
    if rationales is not None:
        for r in read_rationales(rationales).values():
            yield strip_template_label(r.note_rationale)
            yield strip_template_label(r.lab_rationale)
            yield from r.anomaly_captions or []
    if vocabulary is not None:
        yield from read_vocabulary_names(vocabulary)
    else:
        from ctk.distill.modeling.student import default_vocabulary

        yield from default_vocabulary()
    read = 0
    for adm in iter_admissions(cohort):
        if read >= limit:
            break
        if adm.split is not None and adm.split not in splits:
            continue
        read += 1
        if adm.note is not None:
            yield adm.note.main_text()
        yield format_target(adm.phenotypes, "", "")
        if adm.labs is not None:
            yield from lab_captions(adm.labs)


def build_tiny_lm(
    out_dir: str | Path,
    texts: Iterable[str],
    spec: TinyLMSpec | None = None,
    *,
    seed: int = 0,
) -> Path:
    """Train a tokenizer on ``texts`` and save a randomly initialised tiny T5 or Llama with it.

    The tokenizer is word-level by default (``spec.tokenizer``): the student then
    writes only words of ``texts``.

    Args:
        out_dir: Folder to write (``config.json``, weights, tokenizer files).
        texts: Tokenizer training text.
        spec: Architecture and sizes (defaults: T5, d_model 64, 2 layers). A Llama gets
            ``d_model`` hidden size, ``d_ff`` MLP size, ``num_layers`` layers and
            ``num_heads`` heads.
        seed: Seed of the random initialisation.

    Returns:
        The folder, usable as ``StudentConfig.lm_path``.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, T5Config, T5ForConditionalGeneration

    spec = spec or TinyLMSpec()
    out = Path(out_dir)
    if spec.tokenizer == "word":
        tokenizer = train_word_tokenizer(
            texts,
            out,
            max_vocab=spec.word_vocab_size,
            split_punctuation=spec.word_split_punctuation,
        )
    else:
        tokenizer = load_t5_tokenizer(
            train_t5_tokenizer(texts, out / "_spm", vocab_size=spec.vocab_size)
        )
    torch.manual_seed(seed)
    model: Any
    if spec.arch == "llama":
        model = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=len(tokenizer),
                hidden_size=spec.d_model,
                intermediate_size=spec.d_ff,
                num_hidden_layers=spec.num_layers,
                num_attention_heads=spec.num_heads,
                num_key_value_heads=spec.num_heads,
                max_position_embeddings=1024,
                tie_word_embeddings=False,
                pad_token_id=0,
                eos_token_id=1,
                bos_token_id=None,
            )
        )
    else:
        model = T5ForConditionalGeneration(
            T5Config(
                vocab_size=len(tokenizer),
                d_model=spec.d_model,
                d_ff=spec.d_ff,
                d_kv=spec.d_kv,
                num_layers=spec.num_layers,
                num_decoder_layers=spec.num_layers,
                num_heads=spec.num_heads,
                dropout_rate=0.0,
                feed_forward_proj="gated-gelu",
                tie_word_embeddings=False,
                pad_token_id=0,
                eos_token_id=1,
                decoder_start_token_id=0,
            )
        )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    logger.info("tiny %s (%d parameters) saved to %s", spec.arch, model.num_parameters(), out)
    return out


def tiny_run_config(
    cohort: Path,
    lm: Path,
    *,
    steps: int = 30,
    output_dir: str = "out",
    vocabulary: Path | None = None,
    rationales: Path | None = None,
    classifier: bool = True,
) -> str:
    """A short CPU run config (YAML text) for a tiny LM: small lab encoder, lr 1e-3.

    Phase 2 trains the LM too (``train: [lm, lab_encoder, fusion, head]``): the tiny
    LM starts from random weights, so phase 1 has never shown it the lab rationale
    and the captions that phase 2 asks for; frozen, its phase-2 losses stay above a
    uniform guess. The paper's freezing (phase 2 trains the lab encoder and KA
    only) is for a pretrained LM (``ctk distill init``). The diagnosis head trains
    in phase 2 as well, so that its lab term learns from the labs alone.

    Args:
        cohort: Cohort folder.
        lm: The tiny LM folder.
        steps: Optimiser steps per phase.
        output_dir: Output folder (relative to the config file).
        vocabulary: A V_k file (``ctk kg vocab``), or None for the built-in names.
        rationales: A rationale JSONL file, or None for diagnosis-only targets; with one,
            the stated facts are decoded under the grammar of the taught facts
            (``student.constrain_facts``).
        classifier: Give the student a diagnosis head over its pooled states, the words
            of the note (log counts) and summaries of the lab series (``student.classifier``,
            ``classifier_words``, ``classifier_word_counts``, ``classifier_labs``; head lr
            3e-2, weight decay 0.5 and threshold 0.4, chosen on a validation split of the
            train split; trained in all three phases: the lab term learns in phase 2,
            where only the labs are read);
            False: the paper's text-only student.

    Returns:
        YAML text for ``ctk distill run --config``.
    """
    import yaml

    data: dict[str, str] = {"cohort": str(cohort)}
    if vocabulary is not None:
        data["vocabulary"] = str(vocabulary)
    if rationales is not None:
        data["rationales"] = str(rationales)
    # chosen on a validation split carved from the train split of the 1,000-admission
    # cohort (docs/distill.md, "The 1,000-admission CPU run"), never on a test split
    head = {"head_lr": 3e-2, "head_weight_decay": 0.5} if classifier else {}
    raw = {
        "output_dir": output_dir,
        "data": data,
        "student": {
            "lm_path": str(lm),
            "lab_d_model": 64,
            "lab_layers": 1,
            "lab_heads": 4,
            "n_prototypes": 32,
            "ka_heads": 4,
            "max_hours": 96,
            "classifier": classifier,
            "classifier_words": classifier,
            "classifier_word_counts": classifier,
            "classifier_labs": classifier,
            "classifier_threshold": 0.4 if classifier else 0.5,
            "constrain_facts": rationales is not None,
        },
        "train": {
            "batch_size": 8,
            "cpu_threads": 1,
            "warmup_steps": min(10, steps),
            "save_every": max(1, steps // 2),
            "max_source_len": 256,
            "max_target_len": 128,
            "phases": {
                1: {"lr": 1e-3, "max_steps": steps, **head},
                2: {
                    "lr": 1e-3,
                    "max_steps": steps,
                    "train": ["lm", "lab_encoder", "fusion", *(["head"] if classifier else [])],
                    **head,
                },
                3: {"lr": 1e-3, "max_steps": steps, **head},
            },
        },
    }
    return str(yaml.safe_dump(raw, sort_keys=False))
