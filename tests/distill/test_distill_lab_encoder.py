"""The PatchTST-style lab encoder: patching, normalisation, masks, channel independence."""

from __future__ import annotations

import torch

from ctk.distill.modeling.lab_encoder import LabEncoder, normalise_labs, patchify


def test_patchify_hand_computed() -> None:
    # 2 variables x 16 hours: variable 0 is 0..15, variable 1 is 100..115
    x = torch.stack([torch.arange(16.0), 100 + torch.arange(16.0)])[None]
    p = patchify(x, 8)
    assert p.shape == (1, 2, 2, 8)
    assert p[0, 0, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert p[0, 0, 1].tolist() == [8, 9, 10, 11, 12, 13, 14, 15]
    assert p[0, 1, 0].tolist() == [100, 101, 102, 103, 104, 105, 106, 107]
    assert p[0, 1, 1].tolist() == [108, 109, 110, 111, 112, 113, 114, 115]
    # 10 hours -> 2 patches, the second right-padded with zeros
    q = patchify(torch.arange(10.0)[None, None], 8)
    assert q[0, 0, 1].tolist() == [8, 9, 0, 0, 0, 0, 0, 0]


def test_normalisation_and_missing() -> None:
    values = torch.tensor([[[10.0, 30.0, 999.0]]])
    mask = torch.tensor([[[1.0, 1.0, 0.0]]])
    out = normalise_labs(values, mask, torch.tensor([20.0]), torch.tensor([10.0]))
    assert out.tolist() == [[[-1.0, 1.0, 0.0]]]


def _encoder() -> LabEncoder:
    torch.manual_seed(0)
    enc = LabEncoder(
        3,
        [0.0, 0.0, 0.0],
        [1.0, 1.0, 1.0],
        patch_len=8,
        max_hours=32,
        d_model=16,
        n_layers=2,
        n_heads=2,
        dropout=0.0,
    )
    return enc.eval()


def test_token_depends_on_its_own_variable_only() -> None:
    enc = _encoder()
    values = torch.randn(2, 3, 24)
    mask = torch.ones_like(values)
    base = enc(values, mask)
    assert base.shape == (2, 3, 16)
    changed = values.clone()
    changed[1, 2] += 5.0  # admission 1, variable 2
    out = enc(changed, mask)
    diff = (out - base).abs().amax(dim=-1)
    assert diff[1, 2] > 1e-3
    assert diff[0].max() == 0 and diff[1, :2].max() == 0


def test_masked_values_are_ignored_and_missing_variable_is_finite() -> None:
    enc = _encoder()
    values = torch.randn(1, 3, 16)
    mask = torch.ones_like(values)
    mask[0, 0, 3:9] = 0
    mask[0, 1] = 0  # variable 1 never measured
    base = enc(values, mask)
    junk = values.clone()
    junk[0, 0, 3:9] = 1e4
    junk[0, 1] = -1e4
    out = enc(junk, mask)
    assert torch.isfinite(out).all()
    assert torch.equal(out, base)
    # more hours than max_hours are cut
    long = torch.randn(1, 3, 50)
    assert enc(long, torch.ones_like(long)).shape == (1, 3, 16)
