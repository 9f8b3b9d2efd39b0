"""SwiGLU feed-forward with the reference's value-then-gate order."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def round_up(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


class SwiGLU(nn.Module):
    """fc2(silu(gate) * value) where fc1(x) = [value | gate]; hidden rounded up to `multiple`."""

    def __init__(self, d_model: int, d_intermediate: int, multiple: int = 128) -> None:
        super().__init__()
        self.d_hidden = round_up(d_intermediate, multiple)
        self.fc1 = nn.Linear(d_model, 2 * self.d_hidden, bias=False)
        self.fc2 = nn.Linear(self.d_hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.fc1(x).chunk(2, dim=-1)  # (B, L, F) each
        return self.fc2(F.silu(gate) * value)
