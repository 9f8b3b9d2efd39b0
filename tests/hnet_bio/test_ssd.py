"""The chunked SSD scan against a naive per-time-step recurrence, in float64, values and gradients."""

from __future__ import annotations

import pytest
import torch

from hnet_bio.layers.ssd import segment_sum, ssd_chunked, ssd_reference


def _inputs(b: int, l: int, h: int, p: int, g: int, n: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    kw = {"dtype": torch.float64, "generator": gen}
    u = torch.randn(b, l, h, p, **kw)
    a = -torch.rand(b, l, h, **kw) * 3  # log decays in (-3, 0]
    B = torch.randn(b, l, g, n, **kw)
    C = torch.randn(b, l, g, n, **kw)
    s0 = torch.randn(b, h, p, n, **kw)
    return [t.requires_grad_() for t in (u, a, B, C, s0)]


@pytest.mark.parametrize("length", [1, 7, 16, 33, 64, 100])
@pytest.mark.parametrize("chunk", [8, 16])
def test_chunked_equals_recurrence_values_and_grads(length: int, chunk: int) -> None:
    u, a, B, C, s0 = _inputs(2, length, 4, 3, 2, 5, seed=length * 31 + chunk)
    y1, f1 = ssd_chunked(u, a, B, C, chunk_size=chunk, initial_state=s0)
    y2, f2 = ssd_reference(u, a, B, C, initial_state=s0)
    torch.testing.assert_close(y1, y2, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(f1, f2, rtol=1e-10, atol=1e-10)

    weights = torch.randn_like(y1)
    g1 = torch.autograd.grad((y1 * weights).sum() + f1.sum(), (u, a, B, C, s0))
    g2 = torch.autograd.grad((y2 * weights).sum() + f2.sum(), (u, a, B, C, s0))
    for x1, x2 in zip(g1, g2):
        torch.testing.assert_close(x1, x2, rtol=1e-9, atol=1e-9)


def test_chunked_is_stable_under_strong_decay() -> None:
    # Total decay over a chunk of -2000 would overflow exp() if computed as a difference of cumsums
    # and then exponentiated naively; the masked segment sum keeps it finite and exact.
    u, a, B, C, _ = _inputs(1, 64, 2, 2, 1, 3, seed=1)
    with torch.no_grad():
        a.mul_(0).add_(-40.0)
    y1, _ = ssd_chunked(u, a, B, C, chunk_size=64)
    y2, _ = ssd_reference(u, a, B, C)
    assert torch.isfinite(y1).all()
    torch.testing.assert_close(y1, y2, rtol=1e-10, atol=1e-12)


def test_segment_sum_definition() -> None:
    a = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    s = segment_sum(a)
    for i in range(4):
        for j in range(4):
            expected = a[j + 1 : i + 1].sum().item() if i >= j else float("-inf")
            assert s[i, j].item() == expected


def test_float32_close_to_float64() -> None:
    u, a, B, C, s0 = _inputs(2, 200, 4, 8, 1, 16, seed=3)
    y64, _ = ssd_chunked(u, a, B, C, chunk_size=64, initial_state=s0)
    y32, _ = ssd_chunked(u.float(), a.float(), B.float(), C.float(), chunk_size=64, initial_state=s0.float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-4)
