"""Batching: phase-specific inputs and targets, tokenised on the fly.

=====  ==========================================  =======================================
phase  encoder input                               target
=====  ==========================================  =======================================
1      note text                                   diagnoses + Rm
2      ``lab_prompt`` text + lab (KA) tokens       diagnoses + Rt   (aux target: captions)
3      note text + lab (KA) tokens                 diagnoses + Rm + Rt
=====  ==========================================  =======================================

Every batch with targets also holds ``diagnosis_labels`` (``[B, 25]`` multi-hot) for
a student with a diagnosis head.

A decoder-only student (``causal=True``) gets the prompt without special tokens
and a newline after it, and targets without special tokens but ending in EOS (the
student joins ``[lab tokens | prompt | target]`` itself).

Labs are padded on the time axis to the longest series of the batch (mask 0
there); the lab encoder pads further to a multiple of the patch length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ctk.distill.data.examples import DistillExample
from ctk.distill.modeling.diagnosis_head import multi_hot
from ctk.distill.targets import format_target

__all__ = ["PhaseCollator", "phase_source", "phase_target"]


def phase_source(example: DistillExample, phase: int, lab_prompt: str) -> str:
    """Encoder text of an example in a phase (phase 2 reads no note)."""
    return lab_prompt if phase == 2 else (example.note or lab_prompt)


def phase_target(example: DistillExample, phase: int, include_rationale: bool = True) -> str:
    """Target text of an example in a phase."""
    rm = example.note_rationale if include_rationale and phase in (1, 3) else ""
    rt = example.lab_rationale if include_rationale and phase in (2, 3) else ""
    text: str = format_target(example.diagnoses, rm, rt)
    return text


class PhaseCollator:
    """Turn examples into a batch for one phase.

    Args:
        tokenizer: The LM's tokenizer (right padding).
        phase: 1, 2 or 3.
        n_variables: Lab variables V (for all-missing placeholders).
        use_labs: Whether the student reads labs (phases 2 and 3).
        lab_prompt: Encoder text of phase 2.
        max_source_len: Token limit of the encoder text.
        max_target_len: Token limit of the targets.
        include_rationale: Put rationales in targets.
        with_targets: Build ``labels`` (False for generation).
        causal: Tokenise for a decoder-only LM (see the module docstring).
    """

    def __init__(
        self,
        tokenizer: Any,
        phase: int,
        *,
        n_variables: int,
        use_labs: bool,
        lab_prompt: str = "Diagnose from the lab tests.",
        max_source_len: int = 512,
        max_target_len: int = 256,
        include_rationale: bool = True,
        with_targets: bool = True,
        causal: bool = False,
    ) -> None:
        if phase not in (1, 2, 3):
            raise ValueError(f"phase must be 1, 2 or 3, not {phase}")
        self.tokenizer = tokenizer
        self.phase = phase
        self.n_variables = n_variables
        self.use_labs = use_labs and phase in (2, 3)
        self.lab_prompt = lab_prompt
        self.max_source_len = max_source_len
        self.max_target_len = max_target_len
        self.include_rationale = include_rationale
        self.with_targets = with_targets
        self.causal = causal
        if causal and tokenizer.eos_token_id is None:
            raise ValueError("a decoder-only student needs a tokenizer with an EOS token")

    def _labels(self, texts: list[str]) -> Tensor:
        if self.causal:
            return self._causal_labels(texts)
        enc = self.tokenizer(
            texts,
            max_length=self.max_target_len,
            truncation=True,
            padding=True,
            return_tensors="pt",
        )
        labels: Tensor = enc["input_ids"].clone()
        labels[enc["attention_mask"] == 0] = -100
        return labels

    def _causal_labels(self, texts: list[str]) -> Tensor:
        ids = self.tokenizer(
            texts, add_special_tokens=False, max_length=self.max_target_len - 1, truncation=True
        )["input_ids"]
        eos = int(self.tokenizer.eos_token_id)
        rows = [[*r, eos] for r in ids]
        labels = torch.full((len(rows), max(len(r) for r in rows)), -100, dtype=torch.long)
        for i, r in enumerate(rows):
            labels[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        return labels

    def __call__(self, examples: Sequence[DistillExample]) -> dict[str, Any]:
        """Collate ``examples`` into tensors (plus ``admission_ids``)."""
        sources = [phase_source(e, self.phase, self.lab_prompt) for e in examples]
        if self.causal:
            sources = [s + "\n" for s in sources]
        enc = self.tokenizer(
            sources,
            max_length=self.max_source_len,
            truncation=True,
            padding=True,
            add_special_tokens=not self.causal,
            return_tensors="pt",
        )
        batch: dict[str, Any] = {
            "input_ids": enc["input_ids"],
            "attention_mask": enc["attention_mask"],
            "admission_ids": [e.admission_id for e in examples],
        }
        if self.use_labs:
            t = max((e.labs.shape[1] if e.labs is not None else 1) for e in examples)
            labs = np.zeros((len(examples), self.n_variables, t), dtype=np.float32)
            mask = np.zeros_like(labs)
            for i, e in enumerate(examples):
                if e.labs is not None and e.lab_mask is not None:
                    labs[i, :, : e.labs.shape[1]] = e.labs
                    mask[i, :, : e.lab_mask.shape[1]] = e.lab_mask
            batch["labs"] = torch.from_numpy(labs)
            batch["lab_mask"] = torch.from_numpy(mask)
        if self.with_targets:
            targets = [phase_target(e, self.phase, self.include_rationale) for e in examples]
            batch["labels"] = self._labels(targets)
            batch["diagnosis_labels"] = multi_hot([e.diagnoses for e in examples])
            if self.phase == 2:
                captions = [
                    "; ".join(e.captions) if e.captions else "No lab anomalies." for e in examples
                ]
                batch["aux_labels"] = self._labels(captions)
        return batch
