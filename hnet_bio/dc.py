"""Dynamic chunking: where to cut (routing), how to shorten (chunk), how to come back (dechunk).

Routing: p_t = (1 - cos(W_q x_{t-1}, W_k x_t)) / 2 with p_0 = 1; a byte starts a chunk iff
p_t > 0.5. Chunk: keep the encoder vectors at boundary bytes, right-padded to the longest row.
Dechunk: an EMA over the chunk sequence, zbar_j = p_j z_j + (1 - p_j) zbar_{j-1}, then every byte
takes the value of the chunk it belongs to. The straight-through confidence c = max(p, 1 - p)
multiplies by exactly 1 in the forward pass and routes gradient to the router in the backward pass.
The ratio loss pulls the fraction of boundaries F (and mean probability G) towards 1/N.
(Paper: Hwang, Wang, Gu 2025, arXiv 2507.07955, the dynamic chunking section.)

Incremental decoding: `RoutingModule` and `DeChunkLayer` return the state a prompt leaves behind
(`forward(..., return_state=True)`) and advance it one position at a time (`step`). Both paths
share one definition of p (`RoutingModule.boundary_prob`, `routing_decision`) and of the EMA
(`ema_terms`: the EMA is the SSD recurrence with input p z and log decay log(1 - p)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hnet_bio.dtypes import wide
from hnet_bio.layers.ssd import ssd_chunked

P_CLAMP = 1e-4  # the dechunk EMA clamps p to [1e-4, 1 - 1e-4], as the reference does


@dataclass
class RoutingOutput:
    boundary_prob: torch.Tensor  # (B, L) float32, p_t
    boundary_mask: torch.Tensor  # (B, L) bool, p_t > 0.5 and valid

    @property
    def selected_probs(self) -> torch.Tensor:
        """(B, L, 1) confidence in the decision taken: p at boundaries, 1 - p elsewhere."""
        p = self.boundary_prob
        return torch.where(self.boundary_mask, p, 1 - p).unsqueeze(-1)


@dataclass
class RoutingState:
    """What the router needs for the next position: the vector it compares against."""

    last_hidden: torch.Tensor  # (B, D) encoder output at the previous position
    has_seen: torch.Tensor  # (B,) bool: False before a row's first position (always a boundary)


@dataclass
class DeChunkState:
    """The EMA value of the current chunk, repeated on positions where the router does not fire."""

    last_value: torch.Tensor  # (B, D) zbar, float32 (float64 for float64 models)


def last_valid(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """x (B, L, ...) -> (B, ...) at each row's last valid position (right padding)."""
    if mask is None:
        return x[:, -1]
    idx = (mask.sum(-1) - 1).clamp(min=0)
    return x[torch.arange(x.shape[0], device=x.device), idx]


class RoutingModule(nn.Module):
    """Cosine-similarity boundary predictor; q sees the previous byte, k the current one."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.q_proj_layer = nn.Linear(d_model, d_model, bias=False)
        self.k_proj_layer = nn.Linear(d_model, d_model, bias=False)
        with torch.no_grad():  # identity start: boundaries where consecutive encodings differ
            self.q_proj_layer.weight.copy_(torch.eye(d_model))
            self.k_proj_layer.weight.copy_(torch.eye(d_model))
        self.q_proj_layer.weight._no_reinit = True  # type: ignore[attr-defined]  # a marker init.py reads
        self.k_proj_layer.weight._no_reinit = True  # type: ignore[attr-defined]  # a marker init.py reads

    def boundary_prob(self, prev: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
        """prev, cur (..., D) -> p (...,) float32."""
        q = F.normalize(wide(self.q_proj_layer(prev)), dim=-1)
        k = F.normalize(wide(self.k_proj_layer(cur)), dim=-1)
        return ((1 - (q * k).sum(-1)) / 2).clamp(0.0, 1.0)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None, return_state: bool = False
    ) -> RoutingOutput | tuple[RoutingOutput, RoutingState]:
        # h (B, L, D); mask (B, L) valid positions of right-padded rows
        p = F.pad(self.boundary_prob(h[:, :-1], h[:, 1:]), (1, 0), value=1.0)  # (B, L)
        route = routing_decision(p, mask)
        if not return_state:
            return route
        seen = torch.full(h.shape[:1], h.shape[1] > 0, device=h.device) if mask is None else mask.any(-1)
        return route, RoutingState(last_valid(h, mask), seen)

    def step(self, h: torch.Tensor, state: RoutingState) -> RoutingOutput:
        """h (B, D), one new position per row -> the decision there, as (B,) tensors."""
        p = self.boundary_prob(state.last_hidden.to(h.dtype), h)  # (B,)
        p = torch.where(state.has_seen, p, torch.ones_like(p))
        state.last_hidden = h
        state.has_seen = torch.ones_like(state.has_seen)
        return routing_decision(p)


def routing_decision(p: torch.Tensor, mask: torch.Tensor | None = None) -> RoutingOutput:
    """Turn probabilities (B, L) into the boundary mask (p > 0.5 at valid positions)."""
    boundary = p > 0.5
    if mask is not None:
        boundary = boundary & mask
    return RoutingOutput(boundary_prob=p, boundary_mask=boundary)


class ChunkLayer(nn.Module):
    """Keep the vectors at boundary positions: (B, L, D) -> (B, M, D) right-padded + mask (B, M)."""

    def forward(
        self, h: torch.Tensor, boundary_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (chunks (B, M, D), chunk mask (B, M), order (B, M) byte index of each chunk)."""
        b, l, d = h.shape
        counts = boundary_mask.sum(-1)  # (B,)
        m = int(counts.max().item()) if b else 0
        # boundaries first (in order), then the rest: a stable sort on position + L * (not boundary)
        key = torch.arange(l, device=h.device)[None] + (~boundary_mask).long() * l
        order = torch.argsort(key, dim=1)[:, :m]  # (B, M)
        chunks = h.gather(1, order.unsqueeze(-1).expand(-1, -1, d))
        chunk_mask = torch.arange(m, device=h.device)[None] < counts[:, None]
        return chunks, chunk_mask, order


def ema_weight(boundary_prob: torch.Tensor) -> torch.Tensor:
    """The EMA's p: the router's probability in >= float32, clamped away from 0 and 1."""
    return wide(boundary_prob).clamp(P_CLAMP, 1 - P_CLAMP)


def ema_terms(z: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """zbar_j = p_j z_j + (1 - p_j) zbar_{j-1} as an SSD recurrence (one head, N = 1, B = C = 1).

    z (..., D), p (...) in (0, 1) -> input u = p z (..., D) and log decay a = log(1 - p) (...), in
    float32 (float64 for float64 z). The parallel scan and the one-step update both use this.
    """
    pf = p.double() if z.dtype == torch.float64 else p.float()
    return pf.unsqueeze(-1) * z.to(pf.dtype), torch.log1p(-pf)


def ema_scan(z: torch.Tensor, p: torch.Tensor, chunk_size: int = 64) -> torch.Tensor:
    """The EMA over dim 1 from zbar_{-1} = 0: z (B, M, D), p (B, M) -> zbar (B, M, D), wide dtype.

    A one-state SSD scan, so it is a few matrix products rather than a loop over M.
    """
    b, m, _ = z.shape
    u, a = ema_terms(z, p)  # (B, M, D), (B, M)
    ones = torch.ones(b, m, 1, 1, dtype=u.dtype, device=z.device)
    y, _ = ssd_chunked(u.unsqueeze(2), a.unsqueeze(-1), ones, ones, chunk_size)  # one head, D channels
    return y.squeeze(2)


def ema_step(zbar: torch.Tensor, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """One EMA step: zbar (B, D) wide, z (B, D), p (B,) -> p z + (1 - p) zbar (B, D), the
    recurrence `ema_scan` runs in parallel (same terms; exp(a) = 1 - p)."""
    u, a = ema_terms(z, p)  # (B, D), (B,)
    return torch.exp(a).unsqueeze(-1) * zbar + u


class DeChunkLayer(nn.Module):
    """EMA-smooth the inner output over chunks, then give each byte its chunk's value."""

    def __init__(self, chunk_size: int = 64) -> None:
        super().__init__()
        self.chunk_size = chunk_size

    def forward(
        self,
        z: torch.Tensor,
        boundary_prob: torch.Tensor,
        boundary_mask: torch.Tensor,
        order: torch.Tensor,
        return_state: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, DeChunkState]:
        """z (B, M, D) inner output; boundary_prob/mask (B, L); order (B, M) -> (B, L, D).

        return_state also returns each row's last EMA value (rows have at least one chunk).
        """
        p = ema_weight(boundary_prob).gather(1, order)  # (B, M)
        zbar_wide = ema_scan(z, p, self.chunk_size)  # (B, M, D)
        zbar = zbar_wide.to(z.dtype)
        idx = (boundary_mask.cumsum(dim=1) - 1).clamp(min=0)  # (B, L): chunk of each byte
        out = zbar.gather(1, idx.unsqueeze(-1).expand(-1, -1, z.shape[-1]))
        if not return_state:
            return out
        chunks = boundary_mask.sum(-1, keepdim=True)  # (B, 1)
        return out, DeChunkState(last_valid(zbar_wide, torch.arange(z.shape[1], device=z.device) < chunks))

    def step(
        self,
        z: torch.Tensor | None,
        boundary_prob: torch.Tensor,
        boundary_mask: torch.Tensor,
        state: DeChunkState,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        """One position per row -> (B, D) in `dtype`: the EMA advanced where boundary_mask (B,) is
        set, the last value elsewhere. z (B, D) is the inner output (only read where the router
        fired; None when no row fired), boundary_prob (B,) the router's p."""
        if z is not None:
            new = ema_step(state.last_value, z, ema_weight(boundary_prob))
            state.last_value = torch.where(boundary_mask[:, None], new, state.last_value)
        return state.last_value.to(dtype)


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad


def straight_through(confidence: torch.Tensor) -> torch.Tensor:
    """Exactly 1 forward; identity gradient backward (the paper's c + sg(1 - c))."""
    return _StraightThrough.apply(confidence)


def ratio_loss(
    boundary_prob: torch.Tensor, boundary_mask: torch.Tensor, n: float, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """N/(N-1) * ((N-1) F G + (1-F)(1-G)); F = fraction of boundaries, G = mean p, over valid bytes.

    Equals 1 at F = G = 1/N and grows away from it. Gradient flows through G only. (The reference
    averages over padded positions too; we average over valid ones so padding cannot bias it.)
    """
    if mask is None:
        f = boundary_mask.float().mean()
        g = wide(boundary_prob).mean()
    else:
        valid = mask.float()
        denom = valid.sum().clamp(min=1)
        f = (boundary_mask.float() * valid).sum() / denom
        g = (wide(boundary_prob) * valid).sum() / denom
    return n / (n - 1) * ((n - 1) * f * g + (1 - f) * (1 - g))
