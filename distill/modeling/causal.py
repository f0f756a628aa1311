"""Sequences for a decoder-only student: ``[lab tokens | prompt | target]``.

A seq2seq student reads lab tokens in its encoder; a decoder-only student reads
them as input embeddings placed *before* the prompt, then the prompt, then the
target. The loss covers the target only (lab tokens and prompt are labelled
-100). Training rows are right padded; generation rows are left padded so that
every row's next token follows its last prompt token.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["causal_generation_inputs", "causal_training_inputs"]


def _rows(embeds: Tensor, attention_mask: Tensor, extra: Tensor | None) -> list[tuple[Tensor, int]]:
    """Per row: ``[lab tokens | prompt tokens]`` embeddings (no padding) and its prefix length."""
    out: list[tuple[Tensor, int]] = []
    for i in range(embeds.shape[0]):
        text = embeds[i, attention_mask[i].bool()]
        prefix = text if extra is None else torch.cat([extra[i].to(text.dtype), text], dim=0)
        out.append((prefix, int(prefix.shape[0])))
    return out


def causal_training_inputs(
    embeds: Tensor,
    attention_mask: Tensor,
    extra: Tensor | None,
    labels: Tensor,
    target_embeddings: torch.nn.Module,
) -> tuple[Tensor, Tensor, Tensor]:
    """Join prefix and target per row; labels cover the target only.

    Args:
        embeds: ``[B, L, d]`` prompt token embeddings (right padded).
        attention_mask: ``[B, L]``.
        extra: ``[B, E, d]`` lab / KA tokens, or None.
        labels: ``[B, Lt]`` target ids, -100 where padded.
        target_embeddings: The LM's input embedding table (embeds the target ids).

    Returns:
        ``(inputs_embeds [B, S, d], attention_mask [B, S], labels [B, S])``, right padded.
    """
    rows = _rows(embeds, attention_mask, extra)
    pieces: list[tuple[Tensor, Tensor]] = []
    for (prefix, n), lab in zip(rows, labels, strict=True):
        tgt = lab[lab != -100]
        tgt_emb = target_embeddings(tgt).to(prefix.dtype)
        row_labels = torch.cat([lab.new_full((n,), -100), tgt])
        pieces.append((torch.cat([prefix, tgt_emb], dim=0), row_labels))
    length = max(p.shape[0] for p, _ in pieces)
    b, d = len(pieces), embeds.shape[-1]
    out = embeds.new_zeros(b, length, d)
    mask = attention_mask.new_zeros(b, length)
    out_labels = labels.new_full((b, length), -100)
    for i, (emb, lab) in enumerate(pieces):
        k = emb.shape[0]
        out[i, :k] = emb
        mask[i, :k] = 1
        out_labels[i, :k] = lab
    return out, mask, out_labels


def causal_generation_inputs(
    embeds: Tensor, attention_mask: Tensor, extra: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Left-padded ``[lab tokens | prompt]`` embeddings and mask for ``generate``."""
    rows = _rows(embeds, attention_mask, extra)
    length = max(n for _, n in rows)
    b, d = len(rows), embeds.shape[-1]
    out = embeds.new_zeros(b, length, d)
    mask = attention_mask.new_zeros(b, length)
    for i, (prefix, n) in enumerate(rows):
        out[i, length - n :] = prefix
        mask[i, length - n :] = 1
    return out, mask
