"""The state-space scan behind Mamba-2 and the dechunk EMA, in chunked matmul form.

Recurrence (per batch b, head h; state S of shape (P, N)):
    S_t = exp(a_t) * S_{t-1} + u_t B_t^T        y_t = S_t C_t
with a_t <= 0 the log decay and u_t the (already discretised) input. Mamba-2 uses
u = dt * x, a = dt * A; the dechunk EMA uses u = p * z, a = log(1 - p) with N = 1, B = C = 1.

`ssd_chunked` is the fast path: within a chunk of Q steps the recurrence is a masked (Q, Q)
matrix product, and only the chunk-to-chunk states are carried sequentially (also as a small
matrix product). `ssd_reference` is its slow, obvious twin: a loop over time in whatever dtype
it is given; tests hold the two equal in float64.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def _build_tril_masks(q: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    lower = torch.ones(q, q, dtype=torch.bool, device=device).tril()
    return lower.tril(diagonal=-1), lower


_cached_tril_masks = functools.lru_cache(maxsize=64)(_build_tril_masks)


def _tril_masks(q: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(strictly lower, lower) boolean (Q, Q) masks, built once per size and device in eager mode
    (under torch.compile they are constants the compiler folds, so no cache is involved)."""
    if torch.compiler.is_compiling():
        return _build_tril_masks(q, device)
    return _cached_tril_masks(q, device)


def segment_sum(a: torch.Tensor) -> torch.Tensor:
    """out[..., i, j] = sum_{k=j+1..i} a[..., k] for i >= j, -inf above the diagonal.

    Built by masked cumulative sums rather than differences of one cumsum, which would cancel
    catastrophically when the total decay is large.
    """
    q = a.shape[-1]
    strict_lower, lower = _tril_masks(q, a.device)
    x = a.unsqueeze(-1).expand(*a.shape, q).masked_fill(~strict_lower, 0.0)  # x[..., k, j] = a_k (k > j)
    return torch.cumsum(x, dim=-2).masked_fill(~lower, float("-inf"))


class _IntraChunk(torch.autograd.Function):
    """y_i = sum_{j<=i} (C_i . B_j) exp(a_cum_i - a_cum_j) u_j within each chunk, with a hand-written
    backward that saves only the O(L) inputs and rebuilds the (Q, Q) weights when it needs them.

    Left to autograd, this product saves three (b, c, g, r, Q, Q) tensors per layer (the decay
    differences, their exponential and the masked scores) and runs five more (Q, Q)-sized kernels in
    the backward (sub, neg, masked_fill, exp and mul gradients); here backward is two batched
    matmuls for u and the weights, one exp to rebuild the weights, and two reductions for a_cum.
    Gradients (M = CB o L the masked weights, T = dM o M):
        du = M^T dy     dM = dy u^T     dCB = sum_r dM o L     dC = dCB B     dB = dCB^T C
        da_cum_i = sum_j T_ij - sum_j T_ji
    """

    @staticmethod
    def forward(ctx: Any, C: Tensor, B: Tensor, a_cum: Tensor, u: Tensor) -> Tensor:
        # C, B (b, c, g, q, n); a_cum (b, c, g, r, q); u (b, c, g, r, q, p)
        # Everything in u's dtype with autocast off: under bf16 autocast the matmuls would otherwise
        # return bf16 and the backward would mix dtypes (autograd casts each gradient back to its
        # input's dtype).
        with torch.autocast(u.device.type, enabled=False):
            C, B, a_cum = C.to(u.dtype), B.to(u.dtype), a_cum.to(u.dtype)
            cb = C @ B.transpose(-1, -2)  # (b, c, g, q, q)
            weights = _decay(a_cum).mul_(cb.unsqueeze(3))  # (b, c, g, r, q, q)
            ctx.save_for_backward(C, B, a_cum, u)
            return weights @ u  # (b, c, g, r, q, p)

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        C, B, a_cum, u = ctx.saved_tensors
        with torch.autocast(u.device.type, enabled=False):
            return _IntraChunk._grads(C, B, a_cum, u, dy.to(u.dtype))

    @staticmethod
    def _grads(
        C: Tensor, B: Tensor, a_cum: Tensor, u: Tensor, dy: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        cb = C @ B.transpose(-1, -2)  # (b, c, g, q, q)
        decay = _decay(a_cum)  # (b, c, g, r, q, q)
        d_weights = dy @ u.transpose(-1, -2)  # (b, c, g, r, q, q)
        du = (decay * cb.unsqueeze(3)).transpose(-1, -2) @ dy
        t = d_weights.mul_(decay)  # dM o L (zero above the diagonal)
        dcb = t.sum(3)  # (b, c, g, q, q)
        t.mul_(cb.unsqueeze(3))  # dM o M
        da_cum = t.sum(-1) - t.sum(-2)
        return dcb @ B, dcb.transpose(-1, -2) @ C, da_cum, du


def _decay(a_cum: torch.Tensor) -> torch.Tensor:
    """exp(a_cum_i - a_cum_j) for i >= j, else 0, as a fresh tensor (..., Q, Q) callers may overwrite.

    The upper triangle is zeroed *before* exp (so it cannot overflow) and again after it, by
    multiplying with a 0/1 mask: exp of -inf or a masked_fill took 2-3x longer on CPU than exp of
    finite values plus two multiplications, and the result is the same.
    """
    lower = _lower_float(a_cum.shape[-1], a_cum.dtype, a_cum.device)
    diff = (a_cum.unsqueeze(-1) - a_cum.unsqueeze(-2)).mul_(lower)
    return diff.exp_().mul_(lower)


def _build_lower_float(q: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.ones(q, q, dtype=dtype, device=device).tril()


_cached_lower_float = functools.lru_cache(maxsize=64)(_build_lower_float)


def _lower_float(q: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(Q, Q) lower-triangular ones in `dtype` (cached in eager mode, a constant under compile)."""
    if torch.compiler.is_compiling():
        return _build_lower_float(q, dtype, device)
    return _cached_lower_float(q, dtype, device)


def ssd_chunked(
    u: torch.Tensor,
    a: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    chunk_size: int = 64,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chunked scan. Shapes:
    u (b, l, h, p), a (b, l, h), B and C (b, l, g, n) with h % g == 0, initial_state (b, h, p, n).
    Returns y (b, l, h, p) and the final state (b, h, p, n), in u's dtype (math in >= fp32).

    Internally heads are laid out (b, c, g, r, q, p) so every product below is a plain batched
    matmul over contiguous (q, p) / (q, n) blocks.
    """
    b, l, h, p = u.shape
    g, n = B.shape[-2:]
    out_dtype = u.dtype
    cdt = torch.float64 if u.dtype == torch.float64 else torch.float32
    u, a, B, C = u.to(cdt), a.to(cdt), B.to(cdt), C.to(cdt)
    q = max(1, min(chunk_size, l))
    pad = (-l) % q
    if pad:  # zero input and zero log-decay on the padding: the state passes through unchanged
        u = F.pad(u, (0, 0, 0, 0, 0, pad))
        a = F.pad(a, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
    c = (l + pad) // q
    r = h // g  # heads per group share B and C, so C.B is computed once per group
    u = u.reshape(b, c, q, g, r, p).permute(0, 1, 3, 4, 2, 5).contiguous()  # (b, c, g, r, q, p)
    B = B.reshape(b, c, q, g, n).transpose(2, 3).contiguous()  # (b, c, g, q, n)
    C = C.reshape(b, c, q, g, n).transpose(2, 3).contiguous()  # (b, c, g, q, n)
    a = a.reshape(b, c, q, g, r).permute(0, 1, 3, 4, 2)  # (b, c, g, r, q)
    a_cum = torch.cumsum(a, dim=-1)  # (b, c, g, r, q)

    # 1. Within each chunk: y_i = sum_{j<=i} (C_i . B_j) exp(a_{j+1..i}) u_j
    y = _IntraChunk.apply(C, B, a_cum, u)  # (b, c, g, r, q, p)

    # 2. State each chunk contributes at its end: sum_j exp(a_{j+1..end}) u_j B_j^T
    to_end = torch.exp(a_cum[..., -1:] - a_cum)  # (b, c, g, r, q)
    chunk_states = (u * to_end.unsqueeze(-1)).transpose(-1, -2) @ B.unsqueeze(3)  # (b, c, g, r, p, n)

    # 3. Carry states across chunks: S_in[c] = sum_{c'<c} exp(A_{c'+1..c-1}) S[c'] (+ initial)
    if initial_state is None:
        initial_state = torch.zeros(b, h, p, n, dtype=cdt, device=u.device)
    init = initial_state.to(cdt).reshape(b, 1, g, r, p, n)
    states = torch.cat([init, chunk_states], dim=1)  # (b, c+1, g, r, p, n)
    chunk_decay = F.pad(a_cum[..., -1].permute(0, 2, 3, 1), (1, 0))  # (b, g, r, c+1)
    across = torch.exp(segment_sum(chunk_decay))  # (b, g, r, c+1, c+1)
    carried = torch.einsum("bgrzc,bcgrpn->bzgrpn", across, states)  # (b, c+1, g, r, p, n)
    state_in, final_state = carried[:, :-1], carried[:, -1].reshape(b, h, p, n)

    # 4. Contribution of the state entering each chunk: y_i += exp(a_{1..i}) C_i . S_in
    y_off = C.unsqueeze(3) @ state_in.transpose(-1, -2)  # (b, c, g, r, q, p)
    y = y + y_off * torch.exp(a_cum).unsqueeze(-1)
    y = y.permute(0, 1, 4, 2, 3, 5).reshape(b, c * q, h, p)[:, :l]
    return y.to(out_dtype), final_state.to(out_dtype)


def ssd_reference(
    u: torch.Tensor,
    a: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same recurrence, one time step at a time (slow; for tests and as documentation)."""
    b, l, h, p = u.shape
    g, n = B.shape[-2:]
    rep = h // g
    S = torch.zeros(b, h, p, n, dtype=u.dtype) if initial_state is None else initial_state.clone()
    ys = []
    for t in range(l):
        S = ssd_step(S, u[:, t], a[:, t], B[:, t].repeat_interleave(rep, 1))
        ys.append(torch.einsum("bhpn,bhn->bhp", S, C[:, t].repeat_interleave(rep, 1)))
    return torch.stack(ys, dim=1), S


def ssd_step(state: torch.Tensor, u: torch.Tensor, a: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """One step of the recurrence: state (b, h, p, n), u (b, h, p), a (b, h), B (b, h, n) -> new state.

    The output is then y = state @ C, which the caller reads with its own C.
    """
    return torch.exp(a)[..., None, None] * state + u.unsqueeze(-1) * B.unsqueeze(-2)
