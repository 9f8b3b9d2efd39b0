"""The shift-and-add causal depthwise convolution against torch's conv1d, values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hnet_bio.layers.conv import causal_depthwise_conv
from tests.hnet_bio.grad_match import assert_values_and_grads_match


@pytest.mark.parametrize("silu", [False, True])
def test_equals_conv1d_values_and_grads(silu: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    kw = {"dtype": torch.float64, "generator": gen}
    padded = torch.randn(3, 3 + 17, 5, **kw).requires_grad_()  # (B, K-1+L, C), K = 4
    weight = torch.randn(5, 1, 4, **kw).requires_grad_()
    bias = torch.randn(5, **kw).requires_grad_()
    ours = causal_depthwise_conv(padded, weight.squeeze(1), bias, silu=silu)  # (B, L, C)
    ref = F.conv1d(padded.transpose(1, 2), weight, bias, groups=5).transpose(1, 2)
    ref = F.silu(ref) if silu else ref
    assert_values_and_grads_match(ours, ref, (padded, weight, bias))


def test_gradcheck() -> None:
    gen = torch.Generator().manual_seed(1)
    shapes = ((2, 8, 3), (3, 4), (3,))
    args = [torch.randn(*s, dtype=torch.float64, generator=gen, requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(causal_depthwise_conv, args)
    assert torch.autograd.gradcheck(lambda *a: causal_depthwise_conv(*a, silu=True), args)
