"""Per-variable summaries of the lab series, computed inside the student (not in the paper).

The diagnosis head's lab term: for each lab variable, over the admission's
hours, the mean, min, max, last value and standard deviation of the observed
values (normalised as the lab encoder normalises them: the paper's normal range
maps to [-1, 1], values clipped to [-20, 20]), the fraction of observed values
outside that range, and the fraction of hours with no value. These are the
statistics the ``labs`` baseline (:mod:`ctk.distill.baseline`) reads, computed
from the same ``[B, V, T]`` tensors the lab encoder reads, so the head gets a
direct path from the labs to each phenotype (diabetes from glucose, respiratory
failure from SpO2 and FiO2, shock from blood pressure) that does not depend on
the tiny LM learning to carry it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ctk.distill.modeling.lab_encoder import normalise_labs

__all__ = ["N_LAB_STATISTICS", "LabSummary"]

#: Statistics per variable (mean, min, max, last, std, fraction abnormal, fraction missing).
N_LAB_STATISTICS = 7


class LabSummary(nn.Module):  # type: ignore[misc]
    """``[B, V, T]`` lab values and mask -> ``[B, V * 7]`` summary features.

    Args:
        center: Per-variable normalisation centre (the lab encoder's).
        scale: Per-variable normalisation scale (> 0).
        max_hours: Hours read (the first ``max_hours``, as the lab encoder).
    """

    def __init__(self, center: list[float], scale: list[float], max_hours: int) -> None:
        super().__init__()
        self.max_hours = max_hours
        self.register_buffer("center", torch.tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))

    @property
    def n_features(self) -> int:
        """Width of the output: variables x statistics."""
        return int(self.center.numel()) * N_LAB_STATISTICS

    def forward(self, values: Tensor, mask: Tensor) -> Tensor:
        """Summarise a batch.

        An admission's length is its last hour with any observed variable (the batch
        pads shorter series with unobserved hours). A variable never observed gets 0
        (the middle of its normal range) for its value statistics, 0 abnormal and 1
        missing.

        Args:
            values: ``[B, V, T]`` raw lab values.
            mask: ``[B, V, T]``, 1 where observed.

        Returns:
            ``[B, V * 7]`` float32 features, variable-major.
        """
        values = values[..., : self.max_hours].float()
        mask = (mask[..., : self.max_hours] > 0).float()
        x = normalise_labs(values, mask, self.center, self.scale)
        b, v, t = x.shape
        hours = torch.arange(1, t + 1, device=x.device, dtype=x.dtype)
        any_hour = mask.amax(dim=1)  # [B, T]
        length = (any_hour * hours).amax(dim=1).clamp_min(1.0)  # [B]
        count = mask.sum(-1)  # [B, V]
        seen = count > 0
        n = count.clamp_min(1.0)
        mean = (x * mask).sum(-1) / n
        var = (((x - mean[..., None]) * mask) ** 2).sum(-1) / n
        big = torch.finfo(x.dtype).max
        low = torch.where(mask > 0, x, torch.full_like(x, big)).amin(-1)
        high = torch.where(mask > 0, x, torch.full_like(x, -big)).amax(-1)
        last_hour = (mask * hours).argmax(-1, keepdim=True)  # index of the last observation
        last = x.gather(-1, last_hour).squeeze(-1)
        abnormal = ((x.abs() > 1.0).float() * mask).sum(-1) / n
        missing = 1.0 - count / length[:, None]
        zero = torch.zeros_like(mean)
        stats = [
            mean,
            torch.where(seen, low, zero),
            torch.where(seen, high, zero),
            torch.where(seen, last, zero),
            var.clamp_min(0.0).sqrt(),
            abnormal,
            missing.clamp(0.0, 1.0),
        ]
        return torch.stack(stats, dim=-1).reshape(b, v * N_LAB_STATISTICS)
