"""Each stateful module's `step` continues its own `forward`, in float64.

Property: forward(prompt, mask, return_state=True) followed by one `step` per position equals the
parallel forward over the whole sequence, row by row, for right-padded prompts of different
lengths. These are the pieces `HNet.step` is built from (test_generation.py checks the whole model).
"""

from __future__ import annotations

import pytest
import torch

from hnet_bio.dc import ChunkLayer, DeChunkLayer, RoutingModule, routing_decision
from hnet_bio.layers.attention import CausalMHA
from hnet_bio.layers.mamba2 import Mamba2

LENGTHS = torch.tensor([3, 9, 1, 6])  # prompt length of each row
TOTAL = 20  # positions per row in the full sequence


def prompt_mask() -> torch.Tensor:
    width = int(LENGTHS.max())
    return torch.arange(width)[None] < LENGTHS[:, None]  # (B, P)


def positions(t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, position) of the t-th step of every row."""
    return torch.arange(len(LENGTHS)), LENGTHS + t


def check_steps(module: torch.nn.Module, x: torch.Tensor) -> None:
    """x (B, TOTAL, D): prefill on each row's prompt, then step to the end; compare to forward."""
    with torch.no_grad():
        full = module(x)
        mask = prompt_mask()
        prompt = x[:, : mask.shape[1]] * mask[..., None]  # padding holds zeros, never read
        out, state = module(prompt, mask, return_state=True)
        torch.testing.assert_close(out[mask], full[:, : mask.shape[1]][mask], rtol=1e-10, atol=1e-10)
        for t in range(TOTAL - int(LENGTHS.max())):
            rows, pos = positions(t)
            y = module.step(x[rows, pos], state)
            torch.testing.assert_close(y, full[rows, pos], rtol=1e-10, atol=1e-10)


def test_mamba2_step_continues_forward() -> None:
    torch.manual_seed(0)
    m = Mamba2(16, d_state=8, d_conv=4, headdim=8, ngroups=2, chunk_size=4).double()
    with torch.no_grad():
        m.conv1d.bias.normal_()
        m.D.uniform_(-1, 1)
    check_steps(m, torch.randn(len(LENGTHS), TOTAL, 16, dtype=torch.float64))


@pytest.mark.parametrize("window", [-1, 0, 2])
def test_attention_step_continues_forward(window: int) -> None:
    # window 2 keeps a ring of 3 slots, which wraps several times over 20 positions
    torch.manual_seed(1)
    attn = CausalMHA(16, num_heads=2, rotary_emb_dim=4, window_size=window).double()
    check_steps(attn, torch.randn(len(LENGTHS), TOTAL, 16, dtype=torch.float64))


def test_routing_step_continues_forward() -> None:
    torch.manual_seed(2)
    router = RoutingModule(8).double()
    with torch.no_grad():
        router.q_proj_layer.weight.normal_()
    h = torch.randn(len(LENGTHS), TOTAL, 8, dtype=torch.float64)
    full = router(h)
    mask = prompt_mask()
    prompt, state = router(h[:, : mask.shape[1]], mask, return_state=True)
    assert torch.equal(prompt.boundary_mask, full.boundary_mask[:, : mask.shape[1]] & mask)
    fired = []
    for t in range(TOTAL - int(LENGTHS.max())):
        rows, pos = positions(t)
        route = router.step(h[rows, pos], state)
        torch.testing.assert_close(route.boundary_prob, full.boundary_prob[rows, pos], rtol=1e-12, atol=1e-12)
        assert torch.equal(route.boundary_mask, full.boundary_mask[rows, pos])
        fired.append(route.boundary_mask)
    assert bool(torch.stack(fired).any()) and not bool(torch.stack(fired).all())


def test_dechunk_step_continues_forward() -> None:
    """Per-position inner outputs zb (B, L, D): the chunk values are zb at the boundaries."""
    torch.manual_seed(3)
    b, d = len(LENGTHS), 5
    p = torch.rand(b, TOTAL, dtype=torch.float64)
    p[:, 0] = 1.0
    zb = torch.randn(b, TOTAL, d, dtype=torch.float64)
    dechunk, chunk = DeChunkLayer(chunk_size=4), ChunkLayer()

    def run(p: torch.Tensor, mask: torch.Tensor | None, return_state: bool = False):
        route = routing_decision(p, mask)
        z, _, order = chunk(zb[:, : p.shape[1]], route.boundary_mask)
        return dechunk(z, route.boundary_prob, route.boundary_mask, order, return_state=return_state)

    full = run(p, None)
    mask = prompt_mask()
    out, state = run(p[:, : mask.shape[1]], mask, return_state=True)
    torch.testing.assert_close(out[mask], full[:, : mask.shape[1]][mask], rtol=1e-12, atol=1e-12)
    for t in range(TOTAL - int(LENGTHS.max())):
        rows, pos = positions(t)
        route = routing_decision(p[rows, pos])
        y = dechunk.step(zb[rows, pos], route.boundary_prob, route.boundary_mask, state, zb.dtype)
        torch.testing.assert_close(y, full[rows, pos], rtol=1e-12, atol=1e-12)
