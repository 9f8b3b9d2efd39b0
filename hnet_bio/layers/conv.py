"""Causal depthwise convolution over time in (B, L, C) layout, then SiLU, with a hand-written backward.

Mamba-2 convolves x, B and C with a short (d_conv = 4) per-channel filter and applies SiLU.
`F.conv1d` wants (B, C, L), which costs two transposed copies of the activations per layer, and its
CPU backward for grouped (depthwise) filters was the slowest single kernel of a training step
(60 ms per layer at 8 x 1024 x 320). With 4 taps the convolution is 4 shifted multiply-adds:
    pre[t] = bias + sum_k w[:, k] * padded[t + k]        out = silu(pre)
and its gradients are the same shifts the other way round. Only the input is saved; backward
rebuilds `pre` (4 multiply-adds) instead of keeping it. Same sums as conv1d's cross-correlation;
the float rounding order may differ.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def _conv(padded: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """padded (B, K-1+L, C), weight (C, K), bias (C,) -> pre-activation (B, L, C)."""
    k = weight.shape[-1]
    length = padded.shape[1] - k + 1
    out = torch.addcmul(bias, padded[:, :length], weight[:, 0])
    for tap in range(1, k):
        out.addcmul_(padded[:, tap : tap + length], weight[:, tap])
    return out


class _CausalConvSiLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, padded: Tensor, weight: Tensor, bias: Tensor, activate: bool) -> Tensor:
        ctx.save_for_backward(padded, weight, bias)
        ctx.activate = activate
        pre = _conv(padded, weight, bias)
        return F.silu(pre, inplace=True) if activate else pre

    @staticmethod
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None]:
        padded, weight, bias = ctx.saved_tensors
        k = weight.shape[-1]
        length = dout.shape[1]
        if ctx.activate:  # silu'(x) = s (1 + x (1 - s)), s = sigmoid(x)
            pre = _conv(padded, weight, bias)
            sig = torch.sigmoid(pre)
            dout = dout * sig * pre.mul_(1 - sig).add_(1)
        dpadded = dweight = dbias = None
        if ctx.needs_input_grad[0]:
            dpadded = torch.empty_like(padded)
            torch.mul(dout, weight[:, 0], out=dpadded[:, :length])
            dpadded[:, length:].zero_()
            for tap in range(1, k):
                dpadded[:, tap : tap + length].addcmul_(dout, weight[:, tap])
        if ctx.needs_input_grad[1]:
            taps = [(dout * padded[:, tap : tap + length]).sum((0, 1)) for tap in range(k)]
            dweight = torch.stack(taps, -1)
        if ctx.needs_input_grad[2]:
            dbias = dout.sum((0, 1))
        return dpadded, dweight, dbias, None


def causal_depthwise_conv(
    padded: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, silu: bool = False
) -> torch.Tensor:
    """padded (B, K-1+L, C), weight (C, K), bias (C,) -> (B, L, C): bias + sum_k w_k padded[t+k],
    passed through SiLU when `silu`."""
    return _CausalConvSiLU.apply(padded, weight, bias, silu)
