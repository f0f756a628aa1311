"""Build a tiny T5 language model from a config and an offline tokenizer.

The folder it writes is a normal ``AutoModelForSeq2SeqLM`` folder (weights +
tokenizer) usable as ``student.lm_path``; nothing is downloaded. Used by tests,
the README demo and the mechanism check (``ctk distill init-tiny``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from ctk.distill.config import TinyLMSpec
from ctk.distill.targets import format_target, phenotype_surface_names
from ctk.distill.tokenizer import load_t5_tokenizer, train_t5_tokenizer

__all__ = ["build_tiny_lm", "cohort_texts"]

logger = logging.getLogger(__name__)


def cohort_texts(cohort: str | Path, limit: int = 2000) -> Iterator[str]:
    """Texts to train a tokenizer on: notes, target-shaped lines, phenotype names, captions.

    Args:
        cohort: Cohort folder or admissions JSONL.
        limit: Admissions read at most.

    Yields:
        Lines of text.
    """
    from ctk.cohort import iter_admissions
    from ctk.distill.data.examples import lab_captions

    yield from phenotype_surface_names()
    for i, adm in enumerate(iter_admissions(cohort)):
        if i >= limit:
            break
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
    """Train a tokenizer on ``texts`` and save a randomly initialised tiny T5 with it.

    Args:
        out_dir: Folder to write (``config.json``, weights, tokenizer files).
        texts: Tokenizer training text.
        spec: Model sizes (defaults: d_model 64, 2 layers).
        seed: Seed of the random initialisation.

    Returns:
        The folder, usable as ``StudentConfig.lm_path``.
    """
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    spec = spec or TinyLMSpec()
    out = Path(out_dir)
    tok_dir = train_t5_tokenizer(texts, out / "_spm", vocab_size=spec.vocab_size)
    tokenizer = load_t5_tokenizer(tok_dir)
    config = T5Config(
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
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    logger.info("tiny T5 (%d parameters) saved to %s", model.num_parameters(), out)
    return out
