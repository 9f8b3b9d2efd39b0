"""SwiGLU feed-forward with the reference's value-then-gate order."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


def round_up(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


class SwiGLU(nn.Module):
    """fc2(silu(gate) * value) where fc1(x) = [value | gate]; hidden rounded up to `multiple`."""

    def __init__(self, d_model: int, d_intermediate: int, multiple: int = 128) -> None:
        super().__init__()
        self.d_hidden = round_up(d_intermediate, multiple)
        self.fc1 = nn.Linear(d_model, 2 * self.d_hidden, bias=False)
        self.fc2 = nn.Linear(self.d_hidden, d_model, bias=False)

    # Recompute the hidden activations in backward instead of saving them (see `recompute.py`).
    recompute: bool = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recompute and torch.is_grad_enabled():
            return checkpoint(self._mlp, x, use_reentrant=False)
        return self._mlp(x)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.fc1(x).chunk(2, dim=-1)  # (B, L, F) each
        return self.fc2(F.silu(gate) * value)
