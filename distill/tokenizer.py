"""Train a small SentencePiece tokenizer offline, with T5's conventions.

No PyPI package ships T5's ``spiece.model``; tests, demos and the mechanism
check train their own on the cohort's text (pad 0, eos 1, unk 2, no bos) and
load it with ``transformers.T5Tokenizer.from_pretrained(folder)``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ctk.errors import DataError

__all__ = ["SPIECE_FILE", "load_t5_tokenizer", "train_t5_tokenizer"]

logger = logging.getLogger(__name__)

SPIECE_FILE = "spiece.model"


def train_t5_tokenizer(
    texts: Iterable[str],
    out_dir: str | Path,
    *,
    vocab_size: int = 800,
    model_type: str = "unigram",
) -> Path:
    """Train a SentencePiece model on ``texts`` and save it as ``OUT/spiece.model``.

    Args:
        texts: Training sentences (notes, targets, concept names).
        out_dir: Folder to write (created).
        vocab_size: Target vocabulary size; a soft limit (``hard_vocab_limit=False``).
        model_type: ``unigram`` or ``bpe``.

    Returns:
        The folder, ready for :func:`load_t5_tokenizer`.

    Raises:
        DataError: No text was given.
    """
    import sentencepiece as spm

    lines = [t.replace("\n", " ").strip() for t in texts]
    lines = [t for t in lines if t]
    if not lines:
        raise DataError("no text to train a tokenizer on", hint="check the cohort has notes")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "sp")
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_prefix=prefix,
            vocab_size=vocab_size,
            model_type=model_type,
            pad_id=0,
            eos_id=1,
            unk_id=2,
            bos_id=-1,
            hard_vocab_limit=False,
            character_coverage=1.0,
            num_threads=1,
            minloglevel=2,
        )
        shutil.copy(prefix + ".model", out / SPIECE_FILE)
    logger.info("trained a %s tokenizer on %d lines into %s", model_type, len(lines), out)
    return out


def load_t5_tokenizer(folder: str | Path) -> Any:
    """Load the tokenizer saved by :func:`train_t5_tokenizer` (no extra sentinel ids).

    Args:
        folder: A folder holding ``spiece.model``.

    Returns:
        A ``transformers.T5Tokenizer``.
    """
    from transformers import T5Tokenizer

    return T5Tokenizer.from_pretrained(str(folder), extra_ids=0)
