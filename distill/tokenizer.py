"""Train a small tokenizer offline, with T5's conventions (pad 0, eos 1, unk 2, no bos).

Two kinds, both trained on the cohort's text by ``ctk distill init-tiny``:

- **word** (the default of ``init-tiny``): one token per whitespace-separated word
  of the training texts (``tokenizers``' WordLevel model behind a Metaspace
  pre-tokenizer), saved as ``tokenizer.json`` and loaded as a
  ``PreTrainedTokenizerFast``. A student with it can only write words it has
  read, so its text is made of real words by construction; a word it never
  read is ``<unk>``.
- **sentencepiece**: a unigram/BPE ``spiece.model`` loaded with
  ``transformers.T5Tokenizer`` (no PyPI package ships T5's own). Sub-word
  pieces let a small, briefly trained student write non-words
  ("sepsisis secondorynfectio").
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ctk.errors import DataError

__all__ = ["SPIECE_FILE", "load_t5_tokenizer", "train_t5_tokenizer", "train_word_tokenizer"]

logger = logging.getLogger(__name__)

SPIECE_FILE = "spiece.model"


def _training_lines(texts: Iterable[str]) -> list[str]:
    """The non-empty texts, one line each, for a tokenizer trainer.

    Raises:
        DataError: No text is left.
    """
    lines = [t.replace("\n", " ").strip() for t in texts]
    lines = [t for t in lines if t]
    if not lines:
        raise DataError("no text to train a tokenizer on", hint="check the cohort has notes")
    return lines


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

    lines = _training_lines(texts)
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


def train_word_tokenizer(
    texts: Iterable[str],
    out_dir: str | Path,
    *,
    max_vocab: int = 16000,
    min_frequency: int = 1,
    split_punctuation: bool = False,
) -> Any:
    """A word-level tokenizer over ``texts``: one token per whitespace-separated word.

    Any run of whitespace (a line break included) separates words: a note's
    "improved.\nCKD stage 3" is "improved." and "CKD", not one unknown token.
    Words keep their case, so decoding is exact (up to whitespace) and every decoded
    word is a word of ``texts``.

    Args:
        texts: Training text (notes, rationales, captions, phenotype names, V_k names).
        out_dir: Folder to write ``tokenizer.json`` and the tokenizer config into.
        max_vocab: Most tokens kept (the most frequent words win), special tokens included.
        min_frequency: Words seen fewer times become ``<unk>``.
        split_punctuation: Make each punctuation mark a token of its own ("failure," is
            "failure" and ","), so that a word followed by different marks is one token;
            False: a word keeps its punctuation ("failure," and "failure." are two tokens).

    Returns:
        The loaded ``transformers.PreTrainedTokenizerFast`` (pad 0, eos 1, unk 2; an EOS is
        appended to every encoded text, as T5's tokenizer does).

    Raises:
        DataError: No text was given.
    """
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    lines = _training_lines(texts)
    specials = ["<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.Replace(Regex(r"\s+"), " ")
    words = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.pre_tokenizer = (
        pre_tokenizers.Sequence([words, pre_tokenizers.Punctuation(behavior="isolated")])
        if split_punctuation
        else words
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.WordLevelTrainer(
        vocab_size=max_vocab, min_frequency=min_frequency, special_tokens=specials
    )
    tok.train_from_iterator(lines, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        clean_up_tokenization_spaces=False,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out))
    logger.info("trained a word-level tokenizer (%d words) on %d lines", len(fast), len(lines))
    return fast
