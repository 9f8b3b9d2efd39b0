"""The single-node norms (hand-written backward) against the plain autograd formulas, in float64."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hnet_bio.layers.fused_norm import gated_rms_norm, rms_norm
from tests.hnet_bio.grad_match import assert_values_and_grads_match


def _plain_rms(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def _plain_gated(x: torch.Tensor, z: torch.Tensor, w: torch.Tensor, group: int, eps: float) -> torch.Tensor:
    xf = x * F.silu(z)
    xg = xf.view(*xf.shape[:-1], -1, group)
    return (xg * torch.rsqrt(xg.pow(2).mean(-1, keepdim=True) + eps)).view(xf.shape) * w


def _leaves(*shapes: tuple[int, ...], seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, dtype=torch.float64, generator=gen, requires_grad=True) for s in shapes]


def test_rms_norm_values_and_grads() -> None:
    x, w = _leaves((3, 5, 8), (8,), seed=0)
    ours, ref = rms_norm(x, w, 1e-5, torch.float64), _plain_rms(x, w, 1e-5)
    assert_values_and_grads_match(ours, ref, (x, w), grad_rtol=1e-10)


def test_gated_rms_norm_values_and_grads_per_group() -> None:
    x, z, w = _leaves((2, 7, 12), (2, 7, 12), (12,), seed=1)
    ours, ref = gated_rms_norm(x, z, w, 4, 1e-5), _plain_gated(x, z, w, 4, 1e-5)
    assert_values_and_grads_match(ours, ref, (x, z, w), grad_rtol=1e-10)


def test_gradcheck() -> None:
    x, z, w = _leaves((2, 3, 6), (2, 3, 6), (6,), seed=2)
    assert torch.autograd.gradcheck(lambda x, w: rms_norm(x, w, 1e-5, torch.float64), (x, w))
    assert torch.autograd.gradcheck(lambda x, z, w: gated_rms_norm(x, z, w, 3, 1e-5), (x, z, w))
