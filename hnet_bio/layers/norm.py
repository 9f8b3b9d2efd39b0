"""RMSNorm and gated RMSNorm, statistics in float32 whatever the input dtype.

The math (and its hand-written gradient, which saves only the inputs) is in `fused_norm.py`.
"""

from __future__ import annotations

import torch
from torch import nn

from hnet_bio.layers.fused_norm import gated_rms_norm, rms_norm


class RMSNorm(nn.Module):
    """y = x * rsqrt(mean(x^2) + eps) * w, computed in fp32, returned in `out_dtype` or x's dtype."""

    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor, out_dtype: torch.dtype | None = None) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps, out_dtype or x.dtype)


class RMSNormGated(nn.Module):
    """Mamba-2's output norm: rmsnorm(x * silu(z)) * w, the gate applied *before* the norm.

    `group_size` splits the channels into independent norm groups (one per SSM group).
    """

    def __init__(self, d: int, group_size: int | None = None, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.group_size = group_size or d
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        # x, z: (..., d) -> (..., d) in x's dtype
        return gated_rms_norm(x, z, self.weight, self.group_size, self.eps)
