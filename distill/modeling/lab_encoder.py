"""A PatchTST-style lab encoder: one token per lab variable.

Each variable's hourly series (normalised per variable, missing hours masked)
is cut into non-overlapping patches of ``patch_len`` hours. A patch is embedded
from its values *and* its observation mask, patches get a learned position
embedding, a Transformer encoder runs over each variable's patches on its own
(channel independence, as in PatchTST), and the observed patches are averaged
into one token per variable, plus a learned variable embedding.

The authors' script reshaped ``[B, V, N, P]`` patch tensors with a wrong axis
order, mixing variables and patches; here the layout is explicit:
``[B, V, T] -> unfold -> [B, V, N, P] -> [B*V, N, P]`` (V and N stay separate),
and ``tests/distill/test_distill_lab_encoder.py`` checks it against a
hand-computed example and checks that a token depends on its own variable only.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["LabEncoder", "normalise_labs", "patchify"]


def normalise_labs(values: Tensor, mask: Tensor, center: Tensor, scale: Tensor) -> Tensor:
    """Normalise per variable, ``(x - center) / scale``; missing entries become 0.

    Args:
        values: ``[B, V, T]`` raw values (anything where ``mask`` is 0).
        mask: ``[B, V, T]``, 1 where observed.
        center: ``[V]``.
        scale: ``[V]`` (> 0).

    Returns:
        ``[B, V, T]`` normalised values, 0 where missing.
    """
    x = (values - center[None, :, None]) / scale[None, :, None]
    x = torch.where(mask > 0, x, torch.zeros_like(x))
    return x.clamp(-20.0, 20.0)


def patchify(x: Tensor, patch_len: int) -> Tensor:
    """Cut ``[B, V, T]`` into ``[B, V, N, patch_len]`` non-overlapping patches.

    ``T`` is right-padded with zeros to a multiple of ``patch_len``; patch ``n``
    of variable ``v`` holds hours ``n*patch_len .. (n+1)*patch_len - 1`` of ``v``.
    """
    t = x.shape[-1]
    n = max(1, math.ceil(t / patch_len))
    pad = n * patch_len - t
    if pad:
        x = torch.nn.functional.pad(x, (0, pad))
    return x.unfold(dimension=2, size=patch_len, step=patch_len)


class LabEncoder(nn.Module):  # type: ignore[misc]
    """Encode ``[B, V, T]`` lab values + mask into ``[B, V, d_model]`` tokens.

    Args:
        n_variables: Number of lab variables V.
        center: Per-variable normalisation centre.
        scale: Per-variable normalisation scale.
        patch_len: Hours per patch (stride = patch_len).
        max_hours: Longest series accepted (positions are learned up to it).
        d_model: Token width.
        n_layers: Transformer layers (0: patch embeddings only).
        n_heads: Attention heads.
        d_ff: Feed-forward width.
        dropout: Dropout rate.
    """

    def __init__(
        self,
        n_variables: int,
        center: list[float],
        scale: list[float],
        *,
        patch_len: int = 8,
        max_hours: int = 1000,
        d_model: int = 768,
        n_layers: int = 3,
        n_heads: int = 16,
        d_ff: int = 0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.n_variables = n_variables
        self.patch_len = patch_len
        self.max_hours = max_hours
        self.max_patches = max(1, math.ceil(max_hours / patch_len))
        self.register_buffer("center", torch.tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        # values and mask of a patch -> d_model
        self.patch_embed = nn.Linear(2 * patch_len, d_model)
        self.position = nn.Parameter(torch.zeros(self.max_patches, d_model))
        self.variable = nn.Parameter(torch.zeros(n_variables, d_model))
        self.missing = nn.Parameter(torch.zeros(d_model))
        nn.init.normal_(self.position, std=0.02)
        nn.init.normal_(self.variable, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            dim_feedforward=d_ff or 2 * d_model,
            dropout=dropout,
            batch_first=True,
            norm_first=True,
        )
        self.layers = (
            nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
            if n_layers > 0
            else None
        )
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, values: Tensor, mask: Tensor) -> Tensor:
        """Encode a batch.

        Args:
            values: ``[B, V, T]`` raw lab values (T <= max_hours; longer is cut).
            mask: ``[B, V, T]`` observation mask (1 observed, 0 missing).

        Returns:
            ``[B, V, d_model]``: one token per variable. A variable with no observed
            hour gets the learned "missing" token plus its variable embedding.
        """
        b, v, _ = values.shape
        if v != self.n_variables:
            raise ValueError(f"expected {self.n_variables} lab variables, got {v}")
        values = values[..., : self.max_hours].float()
        mask = mask[..., : self.max_hours].float()
        x = normalise_labs(values, mask, self.center, self.scale)
        xp = patchify(x, self.patch_len)  # [B, V, N, P]
        mp = patchify(mask, self.patch_len)  # [B, V, N, P]
        n = xp.shape[2]
        tokens = self.patch_embed(torch.cat([xp, mp], dim=-1))  # [B, V, N, D]
        tokens = tokens + self.position[:n][None, None]
        d = tokens.shape[-1]
        flat = self.dropout(tokens.reshape(b * v, n, d))  # variables stay separate rows
        observed = mp.reshape(b * v, n, self.patch_len).amax(dim=-1) > 0  # [B*V, N]
        any_obs = observed.any(dim=1)  # [B*V]
        if self.layers is not None:
            # a fully missing variable would give NaN attention: let it see its patches
            pad_mask = ~(observed | ~any_obs[:, None])
            flat = self.layers(flat, src_key_padding_mask=pad_mask)
        w = observed.float()
        pooled = (flat * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp(min=1.0)
        pooled = torch.where(any_obs[:, None], pooled, self.missing[None].expand_as(pooled))
        out = pooled.reshape(b, v, d) + self.variable[None]
        return self.norm(out)
