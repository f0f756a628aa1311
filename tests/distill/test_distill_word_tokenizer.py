"""The word-level tokenizer: any whitespace separates words; punctuation optionally split."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.distill.tokenizer import train_word_tokenizer

NOTE = "Fever resolved.\nCKD stage 3: nephrology followed.\n\tNo evidence of sepsis."


def test_a_line_break_separates_words(tmp_path: Path) -> None:
    """A note's line break is a word boundary: no '<unk>' for the words around it."""
    tok = train_word_tokenizer([NOTE.replace("\n", " ")], tmp_path)
    tokens = tok.convert_ids_to_tokens(tok(NOTE)["input_ids"])
    assert "<unk>" not in tokens, tokens
    assert {"\u2581CKD", "\u2581resolved.", "\u2581No"} <= set(tokens)


@pytest.mark.parametrize("split_punctuation", [False, True])
def test_decoding_gives_the_words_back(tmp_path: Path, split_punctuation: bool) -> None:
    tok = train_word_tokenizer([NOTE], tmp_path, split_punctuation=split_punctuation)
    ids = tok(NOTE)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == " ".join(NOTE.split())


def test_split_punctuation_makes_one_token_of_a_word(tmp_path: Path) -> None:
    """'failure,' and 'failure.' share the token 'failure' when punctuation is split."""
    texts = ["Heart failure, treated.", "Known heart failure."]
    joined = train_word_tokenizer(texts, tmp_path / "joined")
    split = train_word_tokenizer(texts, tmp_path / "split", split_punctuation=True)
    assert {"\u2581failure,", "\u2581failure."} <= set(joined.get_vocab())
    vocab = split.get_vocab()
    assert "\u2581failure" in vocab and {",", "."} <= set(vocab)
    assert "\u2581failure," not in vocab
