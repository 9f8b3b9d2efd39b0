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

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=64)
def _tril_masks(q: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(strictly lower, lower) boolean (Q, Q) masks, built once per size and device."""
    lower = torch.ones(q, q, dtype=torch.bool, device=device).tril()
    return lower.tril(diagonal=-1), lower


def segment_sum(a: torch.Tensor) -> torch.Tensor:
    """out[..., i, j] = sum_{k=j+1..i} a[..., k] for i >= j, -inf above the diagonal.

    Built by masked cumulative sums rather than differences of one cumsum, which would cancel
    catastrophically when the total decay is large.
    """
    q = a.shape[-1]
    strict_lower, lower = _tril_masks(q, a.device)
    x = a.unsqueeze(-1).expand(*a.shape, q).masked_fill(~strict_lower, 0.0)  # x[..., k, j] = a_k (k > j)
    return torch.cumsum(x, dim=-2).masked_fill(~lower, float("-inf"))


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
    rep = h // g
    # (b, c, q, ...) chunks; B/C expanded from groups to heads.
    u = u.reshape(b, c, q, h, p)
    B = B.reshape(b, c, q, g, n).repeat_interleave(rep, dim=3)  # (b, c, q, h, n)
    C = C.reshape(b, c, q, g, n).repeat_interleave(rep, dim=3)
    a = a.reshape(b, c, q, h).permute(0, 3, 1, 2)  # (b, h, c, q)
    a_cum = torch.cumsum(a, dim=-1)  # (b, h, c, q)

    # 1. Within each chunk: y_i = sum_{j<=i} (C_i . B_j) exp(a_{j+1..i}) u_j
    decay = torch.exp(segment_sum(a))  # (b, h, c, q, q)
    scores = torch.einsum("bcihn,bcjhn->bhcij", C, B) * decay
    y = torch.einsum("bhcij,bcjhp->bcihp", scores, u)

    # 2. State each chunk contributes at its end: sum_j exp(a_{j+1..end}) u_j B_j^T
    to_end = torch.exp(a_cum[..., -1:] - a_cum)  # (b, h, c, q)
    chunk_states = torch.einsum("bcjhn,bhcj,bcjhp->bchpn", B, to_end, u)

    # 3. Carry states across chunks: S_in[c] = sum_{c'<c} exp(A_{c'+1..c-1}) S[c'] (+ initial)
    if initial_state is None:
        initial_state = torch.zeros(b, h, p, n, dtype=cdt, device=u.device)
    states = torch.cat([initial_state.to(cdt).unsqueeze(1), chunk_states], dim=1)  # (b, c+1, h, p, n)
    chunk_decay = F.pad(a_cum[..., -1], (1, 0))  # (b, h, c+1)
    across = torch.exp(segment_sum(chunk_decay))  # (b, h, c+1, c+1)
    carried = torch.einsum("bhzc,bchpn->bzhpn", across, states)  # (b, c+1, h, p, n)
    state_in, final_state = carried[:, :-1], carried[:, -1]

    # 4. Contribution of the state entering each chunk: y_i += exp(a_{1..i}) C_i . S_in
    y = y + torch.einsum("bcihn,bchpn,bhci->bcihp", C, state_in, torch.exp(a_cum))
    y = y.reshape(b, c * q, h, p)[:, :l]
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
        S = ssd_step(S, u[:, t], a[:, t], B[:, t].repeat_interleave(rep, 1), None)
        ys.append(torch.einsum("bhpn,bhn->bhp", S, C[:, t].repeat_interleave(rep, 1)))
    return torch.stack(ys, dim=1), S


def ssd_step(
    state: torch.Tensor, u: torch.Tensor, a: torch.Tensor, B: torch.Tensor, C: torch.Tensor | None
) -> torch.Tensor:
    """One step: state (b, h, p, n), u (b, h, p), a (b, h), B (b, h, n). Returns the new state.

    (C is accepted for symmetry; the caller reads y = state @ C.)
    """
    return torch.exp(a)[..., None, None] * state + u.unsqueeze(-1) * B.unsqueeze(-2)
