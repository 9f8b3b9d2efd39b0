"""RMSNorm and gated RMSNorm as single autograd nodes that save only their inputs and 1/rms.

Left to autograd, `x * rsqrt(mean(x^2) + eps) * w` keeps the normalised activations (and for the
gated norm also x * silu(z), silu(z) and the squares) for backward: 6 full-size float32 tensors
per Mamba-2 layer, about a fifth of a small-1stage training step's saved activations. Here
backward recomputes them from the inputs (cheap elementwise work) with the closed-form gradient
of y = x r w, r = (mean(x^2) + eps)^(-1/2) over each norm group:
    g = dy w        dx = r (g - x r^2 mean(g x))        dw = sum over rows of dy x r
Statistics are in float32 (float64 for float64 inputs), as in `norm.py`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hnet_bio.dtypes import wide


def _norm_backward(
    dy: torch.Tensor, xf: torch.Tensor, r: torch.Tensor, w: torch.Tensor, group: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """dy, xf (..., d) wide; r (..., d/group, 1); w (d,) -> dxf (..., d), dw (d,)."""
    shape = xf.shape
    dyw = dy * wide(w)
    xg = xf.view(*shape[:-1], -1, group)
    mean_gx = (dyw.view_as(xg) * xg).mean(-1, keepdim=True)  # (..., groups, 1)
    dxf = (dyw.view_as(xg) - xg * (r * r * mean_gx)) * r
    dw = (dy * (xg * r).view(shape)).reshape(-1, shape[-1]).sum(0)
    return dxf.view(shape), dw


class _RMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, eps: float, out_dtype: torch.dtype) -> Tensor:
        xf = wide(x)  # (..., d)
        r = torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)  # (..., 1)
        ctx.save_for_backward(x, weight, r)
        ctx.in_dtype = x.dtype
        return (xf * r * wide(weight)).to(out_dtype)

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, Tensor, None, None]:
        x, weight, r = ctx.saved_tensors
        xf = wide(x)
        dxf, dw = _norm_backward(wide(dy), xf, r.unsqueeze(-1), weight, x.shape[-1])
        return dxf.to(ctx.in_dtype), dw.to(weight.dtype), None, None


class _GatedRMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, z: Tensor, weight: Tensor, group: int, eps: float) -> Tensor:
        xf = wide(x) * F.silu(wide(z))  # (..., d)
        xg = xf.view(*xf.shape[:-1], -1, group)
        r = torch.rsqrt(xg.pow(2).mean(-1, keepdim=True) + eps)  # (..., groups, 1)
        ctx.save_for_backward(x, z, weight, r)
        ctx.group = group
        return ((xg * r).view(xf.shape) * wide(weight)).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, Tensor, Tensor, None, None]:
        x, z, weight, r = ctx.saved_tensors
        zf, xw = wide(z), wide(x)
        sig = torch.sigmoid(zf)
        gate = zf * sig  # silu(z)
        dxf, dw = _norm_backward(wide(dy), xw * gate, r, weight, ctx.group)
        dx = (dxf * gate).to(x.dtype)
        dz = (dxf * xw * sig * (1 + zf * (1 - sig))).to(z.dtype)  # silu'(z) = s (1 + z (1 - s))
        return dx, dz, dw.to(weight.dtype), None, None


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float, out_dtype: torch.dtype) -> torch.Tensor:
    """x (..., d) -> x / rms(x) * weight in `out_dtype`."""
    return _RMSNorm.apply(x, weight, eps, out_dtype)


def gated_rms_norm(
    x: torch.Tensor, z: torch.Tensor, weight: torch.Tensor, group: int, eps: float
) -> torch.Tensor:
    """x, z (..., d) -> rmsnorm(x * silu(z)) * weight per group of `group` channels, in x's dtype."""
    return _GatedRMSNorm.apply(x, z, weight, group, eps)
