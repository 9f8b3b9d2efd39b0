"""Layers against independent float64 computations written out the slow, obvious way."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hnet_bio.config import HNetConfig
from hnet_bio.layers.attention import CausalMHA
from hnet_bio.layers.block import Isotropic, layout_height, parse_layout
from hnet_bio.layers.mamba2 import Mamba2
from hnet_bio.layers.mlp import SwiGLU
from hnet_bio.layers.norm import RMSNorm, RMSNormGated


def test_rmsnorm_formula() -> None:
    norm = RMSNorm(6, eps=1e-5).double()
    with torch.no_grad():
        norm.weight.copy_(torch.arange(1.0, 7.0))
    x = torch.randn(3, 6, dtype=torch.float64)
    expected = x / torch.sqrt((x**2).mean(-1, keepdim=True) + 1e-5) * torch.arange(1.0, 7.0)
    torch.testing.assert_close(norm(x), expected)


def test_gated_norm_applies_gate_before_norm_per_group() -> None:
    norm = RMSNormGated(8, group_size=4).double()
    x, z = torch.randn(2, 8, dtype=torch.float64), torch.randn(2, 8, dtype=torch.float64)
    gated = x * z * torch.sigmoid(z)
    groups = gated.view(2, 2, 4)
    expected = (groups / torch.sqrt((groups**2).mean(-1, keepdim=True) + 1e-5)).view(2, 8)
    torch.testing.assert_close(norm(x, z), expected)


def test_swiglu_value_then_gate() -> None:
    mlp = SwiGLU(8, 100, multiple=128).double()
    assert mlp.d_hidden == 128  # rounded up like the reference
    x = torch.randn(5, 8, dtype=torch.float64)
    h = x @ mlp.fc1.weight.T
    value, gate = h[:, :128], h[:, 128:]
    torch.testing.assert_close(mlp(x), (value * gate * torch.sigmoid(gate)) @ mlp.fc2.weight.T)


def _naive_attention(attn: CausalMHA, x: torch.Tensor, rotary: int, window: int) -> torch.Tensor:
    """Loop over queries; rotary as a complex rotation of channel pairs (i, i + rotary/2)."""
    b, l, d = x.shape
    h, hd = attn.num_heads, attn.head_dim
    qkv = x @ attn.Wqkv.weight.T
    q, k, v = (qkv[..., i * d : (i + 1) * d].reshape(b, l, h, hd) for i in range(3))

    def rotate(t: torch.Tensor) -> torch.Tensor:
        if rotary == 0:
            return t
        half = rotary // 2
        pos = torch.arange(l, dtype=torch.float64)[:, None]
        freq = 10000.0 ** (-torch.arange(half, dtype=torch.float64) * 2 / rotary)
        phase = torch.polar(torch.ones(l, half, dtype=torch.float64), pos * freq)  # (l, half)
        c = torch.complex(t[..., :half], t[..., half:rotary]) * phase[None, :, None, :]
        return torch.cat([c.real, c.imag, t[..., rotary:]], dim=-1)

    q, k = rotate(q), rotate(k)
    out = torch.zeros(b, l, h, hd, dtype=x.dtype)
    for i in range(l):
        lo = 0 if window < 0 else max(0, i - window)
        scores = torch.einsum("bhd,bjhd->bhj", q[:, i], k[:, lo : i + 1]) / math.sqrt(hd)
        out[:, i] = torch.einsum("bhj,bjhd->bhd", scores.softmax(-1), v[:, lo : i + 1])
    return out.reshape(b, l, d) @ attn.out_proj.weight.T


def test_attention_matches_naive_with_partial_rotary_and_window() -> None:
    for rotary, window in [(8, -1), (4, 3), (0, 5), (16, 0)]:
        attn = CausalMHA(32, num_heads=2, rotary_emb_dim=rotary, window_size=window).double()
        x = torch.randn(2, 11, 32, dtype=torch.float64)
        torch.testing.assert_close(attn(x), _naive_attention(attn, x, rotary, window), rtol=1e-10, atol=1e-10)


def _naive_mamba(m: Mamba2, u: torch.Tensor) -> torch.Tensor:
    """Mamba-2 written out step by step: explicit causal conv, per-step state update."""
    b, l, _ = u.shape
    zxbcdt = u @ m.in_proj.weight.T
    z, xbc, dt = zxbcdt.split([m.d_inner, m.conv_dim, m.nheads], dim=-1)
    w = m.conv1d.weight[:, 0, :]  # (conv_dim, k)
    k = w.shape[1]
    conv = torch.zeros_like(xbc)
    for t in range(l):
        for j in range(k):  # weight column k-1 multiplies the current input
            src = t - (k - 1) + j
            if src >= 0:
                conv[:, t] += w[:, j] * xbc[:, src]
    conv = F.silu(conv + m.conv1d.bias)
    x, B, C = conv.split([m.d_inner, m.d_state * m.ngroups, m.d_state * m.ngroups], dim=-1)
    dt = F.softplus(dt + m.dt_bias)
    A = -torch.exp(m.A_log)
    x = x.reshape(b, l, m.nheads, m.headdim)
    heads_per_group = m.nheads // m.ngroups
    state = torch.zeros(b, m.nheads, m.headdim, m.d_state, dtype=u.dtype)
    ys = []
    for t in range(l):
        for hh in range(m.nheads):
            g = hh // heads_per_group
            Bt = B[:, t, g * m.d_state : (g + 1) * m.d_state]
            decay = torch.exp(dt[:, t, hh] * A[hh])[:, None, None]
            inp = (dt[:, t, hh][:, None] * x[:, t, hh])[:, :, None] * Bt[:, None]
            state[:, hh] = decay * state[:, hh] + inp
        Ct = C[:, t].reshape(b, m.ngroups, m.d_state).repeat_interleave(heads_per_group, 1)
        ys.append(torch.einsum("bhpn,bhn->bhp", state, Ct) + m.D[:, None] * x[:, t])
    y = torch.stack(ys, 1).reshape(b, l, m.d_inner)
    gated = y * F.silu(z)
    groups = gated.view(b, l, m.ngroups, -1)
    normed = (groups / torch.sqrt((groups**2).mean(-1, keepdim=True) + 1e-5)).view(b, l, -1) * m.norm.weight
    return normed @ m.out_proj.weight.T


def test_mamba2_matches_naive_recurrence() -> None:
    m = Mamba2(16, d_state=8, d_conv=4, expand=2, headdim=8, ngroups=2, chunk_size=8).double()
    with torch.no_grad():
        m.conv1d.bias.normal_()
        m.norm.weight.uniform_(0.5, 1.5)
        m.D.uniform_(-1, 1)
    u = torch.randn(2, 21, 16, dtype=torch.float64)
    torch.testing.assert_close(m(u), _naive_mamba(m, u), rtol=1e-9, atol=1e-9)


def test_mamba2_state_continuation_equals_one_pass() -> None:
    # Running the first half, then the second half from the returned states, equals one pass.
    m = Mamba2(16, d_state=8, headdim=8, chunk_size=4).double()
    u = torch.randn(3, 19, 16, dtype=torch.float64)
    full = m(u)
    first, state = m(u[:, :9], return_state=True)
    second = m(u[:, 9:], conv_state=state.conv, ssm_state=state.ssm)
    torch.testing.assert_close(torch.cat([first, second], 1), full, rtol=1e-10, atol=1e-10)


def test_layout_parsing_and_height() -> None:
    assert parse_layout("T1m4") == ["T", "m", "m", "m", "m"]
    assert layout_height("T1m4") == 6 and layout_height("m4") == 4 and layout_height("T27") == 54


def test_isotropic_prenorm_fp32_residual_structure() -> None:
    cfg = HNetConfig.from_json("configs/tiny-isotropic.json")
    iso = Isotropic("m1T1", cfg, 0).double()
    x = torch.randn(2, 9, 32, dtype=torch.float64)
    # Independent composition: residual stream r, each block reads norm(r) and adds its output.
    r = x
    b0, b1 = iso.layers
    r = r + b0.mixer(b0.norm1(r))
    r = r + b1.mixer(b1.norm1(r))
    r = r + b1.mlp(b1.norm2(r))
    torch.testing.assert_close(iso(x), iso.rmsnorm(r))
