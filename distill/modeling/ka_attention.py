"""Knowledge-augmented attention (Time-LLM-style reprogramming over V_k).

The names of the knowledge vocabulary V_k are embedded once by the student's
(frozen) input embeddings, giving ``E`` of shape ``[K, d_llm]``. A linear map
over the vocabulary axis compresses them into ``P`` prototypes ``[P, d_llm]``.
Lab tokens are the queries, prototypes the keys and values (multi-head); the
result is projected to the LM's hidden size and appended to the encoder input.

Three variants say what reaches the LM for each lab token ``x`` (``ka_variant``):

* ``paper``: ``KA(x)``, only the attention's mix of V_k prototypes (the paper's
  Time-LLM-style reprogramming; the lab token itself reaches the LM only through
  the attention weights);
* ``residual``: ``W x + KA(x)``, the lab token projected to the LM width plus its
  knowledge context;
* ``gated``: ``g * W x + (1 - g) * KA(x)`` with ``g = sigmoid(G x)`` per channel, a
  learned gate between the two (it starts at 0.5).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["KA_VARIANTS", "KAVariant", "KnowledgeAugmentedAttention"]

KAVariant = Literal["paper", "residual", "gated"]
#: The KA variants, in the order the docs and benchmarks list them.
KA_VARIANTS: tuple[KAVariant, ...] = ("paper", "residual", "gated")


class KnowledgeAugmentedAttention(nn.Module):  # type: ignore[misc]
    """Lab tokens attend over prototypes of the knowledge vocabulary.

    Args:
        d_lab: Width of the lab tokens (queries).
        d_llm: Hidden size of the LM (width of V_k embeddings and of the output).
        n_vocab: K, the number of V_k names.
        n_prototypes: P, the number of prototypes.
        n_heads: Attention heads.
        d_head: Width of one head (0: ``d_lab // n_heads``, at least 8).
        dropout: Dropout on the attention weights.
        variant: ``paper``, ``residual`` or ``gated`` (see the module docstring).
    """

    def __init__(
        self,
        d_lab: int,
        d_llm: int,
        n_vocab: int,
        n_prototypes: int,
        *,
        n_heads: int = 8,
        d_head: int = 0,
        dropout: float = 0.1,
        variant: KAVariant = "paper",
    ) -> None:
        super().__init__()
        if variant not in KA_VARIANTS:
            raise ValueError(f"unknown KA variant {variant!r}: use one of {KA_VARIANTS}")
        self.variant: KAVariant = variant
        self.n_heads = n_heads
        self.d_head = d_head or max(8, d_lab // n_heads)
        inner = self.n_heads * self.d_head
        self.compress = nn.Linear(n_vocab, n_prototypes)
        self.query = nn.Linear(d_lab, inner)
        self.key = nn.Linear(d_llm, inner)
        self.value = nn.Linear(d_llm, inner)
        self.out = nn.Linear(inner, d_llm)
        self.dropout = nn.Dropout(dropout)
        # the lab token's own path (residual, gated) and the gate (gated)
        self.lab_path = nn.Linear(d_lab, d_llm) if variant != "paper" else None
        self.gate: nn.Linear | None = None
        if variant == "gated":
            self.gate = nn.Linear(d_lab, d_llm)
            nn.init.zeros_(self.gate.weight)
            nn.init.zeros_(self.gate.bias)
        self.last_attention: Tensor | None = None
        self.last_gate: float | None = None

    def prototypes(self, vocab_embeddings: Tensor) -> Tensor:
        """Compress ``[K, d_llm]`` V_k embeddings into ``[P, d_llm]`` prototypes."""
        return self.compress(vocab_embeddings.transpose(0, 1)).transpose(0, 1)

    def forward(self, lab_tokens: Tensor, vocab_embeddings: Tensor) -> Tensor:
        """Attend.

        Args:
            lab_tokens: ``[B, V, d_lab]`` queries.
            vocab_embeddings: ``[K, d_llm]`` frozen V_k embeddings.

        Returns:
            ``[B, V, d_llm]`` knowledge-augmented lab tokens (combined with the lab
            tokens' own path as :attr:`variant` says). The head-averaged attention
            ``[B, V, P]`` is kept in :attr:`last_attention` (detached); the gated
            variant's mean gate (share of the lab path) in :attr:`last_gate`.
        """
        b, v, _ = lab_tokens.shape
        protos = self.prototypes(vocab_embeddings.to(self.compress.weight.dtype))  # [P, d_llm]
        p = protos.shape[0]
        q = self.query(lab_tokens).view(b, v, self.n_heads, self.d_head).transpose(1, 2)
        k = self.key(protos).view(p, self.n_heads, self.d_head).transpose(0, 1)  # [H, P, dh]
        val = self.value(protos).view(p, self.n_heads, self.d_head).transpose(0, 1)
        scores = torch.einsum("bhvd,hpd->bhvp", q, k) / math.sqrt(self.d_head)
        attn = torch.softmax(scores, dim=-1)
        self.last_attention = attn.mean(dim=1).detach()
        ctx = torch.einsum("bhvp,hpd->bhvd", self.dropout(attn), val)
        ctx = ctx.transpose(1, 2).reshape(b, v, self.n_heads * self.d_head)
        knowledge = self.out(ctx)
        if self.lab_path is None:
            return knowledge
        own = self.lab_path(lab_tokens)
        if self.gate is None:
            return own + knowledge
        g = torch.sigmoid(self.gate(lab_tokens))
        self.last_gate = float(g.detach().mean())
        return g * own + (1.0 - g) * knowledge
