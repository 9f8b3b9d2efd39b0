"""Causal depthwise convolution over time in (B, L, C) layout, with a hand-written backward.

Mamba-2 convolves x, B and C with a short (d_conv = 4) per-channel filter. `F.conv1d` wants
(B, C, L), which costs two transposed copies of the activations per layer, and its CPU backward for
grouped (depthwise) filters was the slowest single kernel of a training step (60 ms per layer at
8 x 1024 x 320). With a kernel of 4 taps the convolution is simply 4 shifted multiply-adds:
    out[t] = bias + sum_k w[:, k] * padded[t + k]
and its gradients are the same shifts the other way round (no (B, C, L) copies, nothing saved but
the input). Same sums as conv1d's cross-correlation; the float rounding order may differ.
"""

from __future__ import annotations

import torch


class _CausalDepthwiseConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, padded, weight, bias):  # type: ignore[override]
        # padded (B, K-1+L, C): history then inputs; weight (C, K); bias (C,) -> (B, L, C)
        k = weight.shape[-1]
        length = padded.shape[1] - k + 1
        out = torch.addcmul(bias, padded[:, :length], weight[:, 0])
        for tap in range(1, k):
            out.addcmul_(padded[:, tap : tap + length], weight[:, tap])
        ctx.save_for_backward(padded, weight)
        return out

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        padded, weight = ctx.saved_tensors
        k = weight.shape[-1]
        length = dout.shape[1]
        dpadded = dweight = dbias = None
        if ctx.needs_input_grad[0]:
            dpadded = padded.new_zeros(padded.shape)
            for tap in range(k):
                dpadded[:, tap : tap + length].addcmul_(dout, weight[:, tap])
        if ctx.needs_input_grad[1]:
            flat = dout.reshape(-1, dout.shape[-1])  # (B*L, C)
            dweight = torch.stack(
                [(flat * padded[:, tap : tap + length].reshape(flat.shape)).sum(0) for tap in range(k)], -1
            )
        if ctx.needs_input_grad[2]:
            dbias = dout.sum((0, 1))
        return dpadded, dweight, dbias


def causal_depthwise_conv(padded: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """padded (B, K-1+L, C), weight (C, K), bias (C,) -> (B, L, C): out[t] = bias + sum_k w_k padded[t+k]."""
    return _CausalDepthwiseConv.apply(padded, weight, bias)
