"""One check shared by the float64 kernel tests: a hand-written op against its plain reference."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def assert_values_and_grads_match(
    ours: torch.Tensor, ref: torch.Tensor, inputs: Sequence[torch.Tensor], grad_rtol: float = 1e-12
) -> None:
    """Equal outputs, and equal gradients of the same random projection of them with respect to
    ``inputs`` (a random cotangent exercises every output position, unlike ``.sum()``)."""
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    dy = torch.randn_like(ref)
    g1 = torch.autograd.grad((ours * dy).sum(), tuple(inputs))
    g2 = torch.autograd.grad((ref * dy).sum(), tuple(inputs))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=grad_rtol, atol=1e-12)
