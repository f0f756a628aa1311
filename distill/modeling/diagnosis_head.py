"""A multi-label diagnosis head over the student's pooled input states (not in the paper).

The LM reads the note (and the lab / KA tokens); the head pools the states of
that input (mean and max over the real positions) and scores each of the 25
benchmark phenotypes. It trains with binary cross-entropy beside the LM loss;
at inference its decisions choose the diagnoses and the decoder writes them as
a forced prefix (:mod:`ctk.distill.constrained`), so the text and the label
never disagree. Two optional terms join the pooled states: a bag-of-words term
over the tokens the student reads, and a lab term over per-variable summaries
of the lab series (:class:`ctk.distill.modeling.lab_summary.LabSummary`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ctk.distill.modeling.lab_summary import LabSummary
from ctk.phenotypes import PHENOTYPE_NAMES

__all__ = ["DiagnosisHead", "multi_hot"]


def multi_hot(diagnoses: list[list[str]]) -> Tensor:
    """``[B, 25]`` float targets (benchmark phenotype order) for lists of phenotype names."""
    index = {name: i for i, name in enumerate(PHENOTYPE_NAMES)}
    out = torch.zeros(len(diagnoses), len(PHENOTYPE_NAMES))
    for row, names in enumerate(diagnoses):
        for name in names:
            if name in index:
                out[row, index[name]] = 1.0
    return out


class DiagnosisHead(nn.Module):  # type: ignore[misc]
    """Pooled states (and, optionally, the words read and the labs) -> one logit per phenotype.

    Args:
        d_model: Width of the pooled states (the LM's hidden size).
        n_labels: Number of phenotypes (25).
        dropout: Dropout on the pooled vector.
        vocab_size: With a size, a bag-of-words term is added: one weight per (token,
            phenotype) over which tokens of the student's vocabulary the input holds
            (a linear model over the words the LM reads, beside the pooled states).
            None: no such term.
        lab_summary: With a summariser, a lab term is added: a linear map from the
            per-variable summaries of the admission's lab series to the phenotypes (a
            logistic regression over the labs, inside the student). None: no such term.
        word_counts: The bag-of-words term reads ``log(1 + count)`` of each token (how
            often the note says it: a diagnosis the note names in its course, history
            and discharge list against one it rules out once); False: whether it occurs.
    """

    def __init__(
        self,
        d_model: int,
        n_labels: int = len(PHENOTYPE_NAMES),
        dropout: float = 0.1,
        vocab_size: int | None = None,
        lab_summary: LabSummary | None = None,
        word_counts: bool = False,
    ):
        super().__init__()
        self.word_counts = word_counts
        self.norm = nn.LayerNorm(2 * d_model)
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(2 * d_model, n_labels)
        self.words: nn.Linear | None = None
        if vocab_size:
            self.words = nn.Linear(vocab_size, n_labels, bias=False)
            nn.init.zeros_(self.words.weight)
        self.lab_summary = lab_summary
        self.labs: nn.Linear | None = None
        if lab_summary is not None:
            self.labs = nn.Linear(lab_summary.n_features, n_labels, bias=False)
            nn.init.zeros_(self.labs.weight)

    def forward(
        self,
        states: Tensor,
        mask: Tensor,
        input_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        labs: Tensor | None = None,
        lab_mask: Tensor | None = None,
    ) -> Tensor:
        """Score.

        Args:
            states: ``[B, L, d]`` hidden states.
            mask: ``[B, L]``, 1 where a position is pooled.
            input_ids: ``[B, Lt]`` the text token ids (for the bag-of-words term).
            input_mask: ``[B, Lt]``, 1 on real tokens.
            labs: ``[B, V, T]`` raw lab values (for the lab term; None: the term is
                left out, as in phase 1, where no labs are read).
            lab_mask: ``[B, V, T]`` observation mask (None: all observed).

        Returns:
            ``[B, n_labels]`` logits.
        """
        m = mask.to(states.dtype).unsqueeze(-1)
        mean = (states * m).sum(1) / m.sum(1).clamp_min(1.0)
        masked = states.masked_fill(m == 0, torch.finfo(states.dtype).min)
        peak = masked.max(dim=1).values
        pooled = torch.cat([mean, peak], dim=-1).float()
        logits: Tensor = self.score(self.dropout(self.norm(pooled)))
        if self.words is not None and input_ids is not None:
            bag = torch.zeros(input_ids.shape[0], self.words.in_features, device=logits.device)
            ids = input_ids.clamp(0, self.words.in_features - 1)
            keep = (input_mask if input_mask is not None else torch.ones_like(ids)).float()
            if self.word_counts:
                bag = torch.log1p(bag.scatter_add_(1, ids, keep))
            else:
                bag.scatter_reduce_(1, ids, keep, reduce="amax")
            logits = logits + self.words(self.dropout(bag))
        if self.labs is not None and self.lab_summary is not None and labs is not None:
            seen = lab_mask if lab_mask is not None else torch.ones_like(labs)
            logits = logits + self.labs(self.lab_summary(labs, seen))
        return logits
