"""Activation recomputation for the Mamba-2 mixers and SwiGLU MLPs: memory for time, same numbers.

A small-1stage training step at 8 x 1024 bytes saves ~1.4 GB of activations for backward, most of
them inside the eight byte-level Mamba-2 mixers (in_proj output, conv input, scan operands, norm
inputs: ~80 MB per mixer). With recomputation on, each mixer keeps only its (B, L, D) input and
runs its forward again during backward (`torch.utils.checkpoint`, non-reentrant), which costs one
extra mixer forward per step. The SwiGLU MLPs of the inner levels (fc1 output, gate, product:
~36 MB per block at 8 x 256 chunks) are treated the same way. Outputs and gradients are unchanged
(the same ops run twice).
"""

from __future__ import annotations

from torch import nn

from hnet_bio.layers.mamba2 import Mamba2
from hnet_bio.layers.mlp import SwiGLU


def set_recompute(model: nn.Module, enabled: bool = True) -> int:
    """Turn recomputation on or off for every Mamba-2 mixer and SwiGLU in `model`; returns how many."""
    count = 0
    for module in model.modules():
        if isinstance(module, (Mamba2, SwiGLU)):
            module.recompute = enabled
            count += 1
    return count
