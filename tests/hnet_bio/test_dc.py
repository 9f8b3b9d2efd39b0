"""Dynamic chunking pieces: routing rule, chunk selection, EMA dechunk, STE and the ratio loss."""

from __future__ import annotations

import pytest
import torch

from hnet_bio.dc import (
    P_CLAMP,
    ChunkLayer,
    DeChunkLayer,
    RoutingModule,
    ema_scan,
    ratio_loss,
    routing_decision,
    straight_through,
)


def test_routing_identity_init_cosine_rule() -> None:
    router = RoutingModule(4).double()
    h = torch.tensor([[[1.0, 0, 0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, -1.0, 0, 0]]], dtype=torch.float64)
    out = router(h)
    # p_0 = 1; identical -> 0; orthogonal -> 0.5 (not a boundary: strictly > 0.5 needed); opposite -> 1
    torch.testing.assert_close(out.boundary_prob, torch.tensor([[1.0, 0.0, 0.5, 1.0]], dtype=torch.float64))
    assert out.boundary_mask.tolist() == [[True, False, False, True]]
    torch.testing.assert_close(out.selected_probs.squeeze(-1), torch.tensor([[1.0, 1.0, 0.5, 1.0]]).double())


def test_routing_q_sees_previous_k_sees_current() -> None:
    router = RoutingModule(3).double()
    with torch.no_grad():
        router.q_proj_layer.weight.copy_(torch.diag(torch.tensor([1.0, 2.0, 3.0])))
        router.k_proj_layer.weight.copy_(torch.eye(3) * -1)
    h = torch.randn(2, 6, 3, dtype=torch.float64)
    q = h[:, :-1] @ router.q_proj_layer.weight.T
    k = h[:, 1:] @ router.k_proj_layer.weight.T
    cos = (q * k).sum(-1) / (q.norm(dim=-1) * k.norm(dim=-1))
    torch.testing.assert_close(router(h).boundary_prob[:, 1:], (1 - cos) / 2)


def test_routing_respects_padding_mask() -> None:
    p = torch.tensor([[1.0, 0.9, 0.2, 0.8]])
    mask = torch.tensor([[True, True, True, False]])
    assert routing_decision(p, mask).boundary_mask.tolist() == [[True, True, False, False]]


def test_chunk_layer_selects_boundaries_in_order_right_padded() -> None:
    h = torch.arange(2 * 6, dtype=torch.float32).view(2, 6, 1)
    bm = torch.tensor([[1, 0, 1, 1, 0, 0], [1, 0, 0, 0, 0, 1]], dtype=torch.bool)
    chunks, cmask, order = ChunkLayer()(h, bm)
    assert order[0].tolist() == [0, 2, 3] and order[1, :2].tolist() == [0, 5]
    assert chunks[0, :, 0].tolist() == [0.0, 2.0, 3.0] and chunks[1, :2, 0].tolist() == [6.0, 11.0]
    assert cmask.tolist() == [[True, True, True], [True, True, False]]


def _naive_ema(z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    out, prev = torch.zeros_like(z), torch.zeros_like(z[:, 0])
    for j in range(z.shape[1]):
        prev = p[:, j, None] * z[:, j] + (1 - p[:, j, None]) * prev
        out[:, j] = prev
    return out


@pytest.mark.parametrize("length", [1, 5, 64, 150])
def test_ema_scan_equals_naive_loop(length: int) -> None:
    z = torch.randn(3, length, 7, dtype=torch.float64)
    p = torch.rand(3, length, dtype=torch.float64).clamp(P_CLAMP, 1 - P_CLAMP)
    torch.testing.assert_close(ema_scan(z, p, chunk_size=16), _naive_ema(z, p), rtol=1e-10, atol=1e-12)


def test_ema_scan_handles_near_zero_p_over_long_runs() -> None:
    # p = 1e-4 over many chunks: decay close to 1, input tiny; must stay finite and exact.
    z = torch.randn(1, 500, 4, dtype=torch.float64)
    p = torch.full((1, 500), P_CLAMP, dtype=torch.float64)
    p[0, 0] = 1 - P_CLAMP
    torch.testing.assert_close(ema_scan(z, p, chunk_size=64), _naive_ema(z, p), rtol=1e-9, atol=1e-12)


def test_dechunk_plugs_chunk_values_back_to_bytes() -> None:
    bp = torch.tensor([[1.0, 0.1, 0.9, 0.3, 0.7]], dtype=torch.float64)
    bm = bp > 0.5
    _, _, order = ChunkLayer()(torch.zeros(1, 5, 1), bm)
    z = torch.tensor([[[2.0], [4.0], [8.0]]], dtype=torch.float64)
    out = DeChunkLayer()(z, bp, bm, order)
    p = bp.clamp(P_CLAMP, 1 - P_CLAMP)[0, [0, 2, 4]]
    zb0 = p[0] * 2.0
    zb1 = p[1] * 4.0 + (1 - p[1]) * zb0
    zb2 = p[2] * 8.0 + (1 - p[2]) * zb1
    expected = torch.stack([zb0, zb0, zb1, zb1, zb2]).view(1, 5, 1)
    torch.testing.assert_close(out, expected)


def test_straight_through_is_one_forward_identity_backward() -> None:
    c = torch.tensor([0.6, 0.9, 0.51], requires_grad=True)
    y = straight_through(c)
    assert y.tolist() == [1.0, 1.0, 1.0]
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert c.grad.tolist() == [1.0, 2.0, 3.0]


def test_ratio_loss_is_one_at_target_and_grows_away() -> None:
    n = 4.0
    length = 400
    mask = torch.zeros(1, length, dtype=torch.bool)
    mask[0, :: int(n)] = True  # F = 1/N exactly
    p = torch.full((1, length), 1 / n)  # G = 1/N
    assert ratio_loss(p, mask, n).item() == pytest.approx(1.0, abs=1e-6)
    previous = 1.0
    for every in (3, 2, 1):  # more boundaries than targeted, with G following F
        m = torch.zeros(1, length, dtype=torch.bool)
        m[0, ::every] = True
        value = ratio_loss(m.float(), m, n).item()
        assert value > previous
        previous = value
    sparse = torch.zeros(1, length, dtype=torch.bool)
    sparse[0, ::10] = True
    assert ratio_loss(sparse.float(), sparse, n).item() > 1.0


def test_ratio_loss_formula_and_gradient_through_g_only() -> None:
    p = torch.rand(2, 50, requires_grad=True)
    bm = p.detach() > 0.5
    n = 3.0
    loss = ratio_loss(p, bm, n)
    f, g = bm.float().mean(), p.mean()
    expected = n / (n - 1) * ((n - 1) * f * g + (1 - f) * (1 - g))
    torch.testing.assert_close(loss, expected)
    loss.backward()
    # dL/dp_i = (1/numel) * N/(N-1) * ((N-1) F - (1 - F))
    grad = (n / (n - 1) * ((n - 1) * f - (1 - f)) / p.numel()).item()
    torch.testing.assert_close(p.grad, torch.full_like(p, grad))


def test_ratio_loss_ignores_padding() -> None:
    p = torch.tensor([[0.9, 0.1, 0.9, 0.1, 0.0, 0.0]])
    bm = p > 0.5
    mask = torch.tensor([[True, True, True, True, False, False]])
    torch.testing.assert_close(ratio_loss(p, bm, 2.0, mask), ratio_loss(p[:, :4], bm[:, :4], 2.0))
