"""RMSNorm and gated RMSNorm, statistics in float32 whatever the input dtype."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hnet_bio.dtypes import wide


class RMSNorm(nn.Module):
    """y = x * rsqrt(mean(x^2) + eps) * w, computed in fp32, returned in `out_dtype` or x's dtype."""

    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor, out_dtype: torch.dtype | None = None) -> torch.Tensor:
        xf = wide(x)
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * wide(self.weight)
        return y.to(out_dtype or x.dtype)


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
        # x, z: (..., d)
        dtype = x.dtype
        xf = wide(x) * F.silu(wide(z))
        shape = xf.shape
        xg = xf.view(*shape[:-1], -1, self.group_size)
        xg = xg * torch.rsqrt(xg.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xg.view(shape) * wide(self.weight)).to(dtype)
