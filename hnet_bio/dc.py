"""Dynamic chunking: where to cut (routing), how to shorten (chunk), how to come back (dechunk).

Routing: p_t = (1 - cos(W_q x_{t-1}, W_k x_t)) / 2 with p_0 = 1; a byte starts a chunk iff
p_t > 0.5. Chunk: keep the encoder vectors at boundary bytes, right-padded to the longest row.
Dechunk: an EMA over the chunk sequence, zbar_j = p_j z_j + (1 - p_j) zbar_{j-1}, then every byte
takes the value of the chunk it belongs to. The straight-through confidence c = max(p, 1 - p)
multiplies by exactly 1 in the forward pass and routes gradient to the router in the backward pass.
The ratio loss pulls the fraction of boundaries F (and mean probability G) towards 1/N.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    selected_probs: torch.Tensor  # (B, L, 1) confidence max(p, 1 - p)


class RoutingModule(nn.Module):
    """Cosine-similarity boundary predictor; q sees the previous byte, k the current one."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.q_proj_layer = nn.Linear(d_model, d_model, bias=False)
        self.k_proj_layer = nn.Linear(d_model, d_model, bias=False)
        with torch.no_grad():  # identity start: boundaries where consecutive encodings differ
            self.q_proj_layer.weight.copy_(torch.eye(d_model))
            self.k_proj_layer.weight.copy_(torch.eye(d_model))
        self.q_proj_layer.weight._no_reinit = True  # type: ignore[attr-defined]
        self.k_proj_layer.weight._no_reinit = True  # type: ignore[attr-defined]

    def boundary_prob(self, prev: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
        """prev, cur (..., D) -> p (...,) float32."""
        q = F.normalize(wide(self.q_proj_layer(prev)), dim=-1)
        k = F.normalize(wide(self.k_proj_layer(cur)), dim=-1)
        return ((1 - (q * k).sum(-1)) / 2).clamp(0.0, 1.0)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None = None) -> RoutingOutput:
        # h (B, L, D); mask (B, L) valid positions of right-padded rows
        p = F.pad(self.boundary_prob(h[:, :-1], h[:, 1:]), (1, 0), value=1.0)  # (B, L)
        return routing_decision(p, mask)


def routing_decision(p: torch.Tensor, mask: torch.Tensor | None = None) -> RoutingOutput:
    """Turn probabilities (B, L) into the boundary mask and straight-through confidence."""
    boundary = p > 0.5
    if mask is not None:
        boundary = boundary & mask
    selected = torch.where(boundary, p, 1 - p).unsqueeze(-1)
    return RoutingOutput(boundary_prob=p, boundary_mask=boundary, selected_probs=selected)


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


def ema_scan(z: torch.Tensor, p: torch.Tensor, chunk_size: int = 64) -> torch.Tensor:
    """zbar_j = p_j z_j + (1 - p_j) zbar_{j-1}, zbar_{-1} = 0, over dim 1.

    z (B, M, D), p (B, M) in (0, 1). Computed as a one-state SSD scan (log decay log(1 - p)),
    so it is a few matrix products rather than a loop over M.
    """
    b, m, _ = z.shape
    pf = p.double() if z.dtype == torch.float64 else p.float()
    u = (pf.unsqueeze(-1) * z.to(pf.dtype)).unsqueeze(2)  # (B, M, 1, D): one head, D channels
    a = torch.log1p(-pf).unsqueeze(-1)  # (B, M, 1)
    ones = torch.ones(b, m, 1, 1, dtype=pf.dtype, device=z.device)
    y, _ = ssd_chunked(u, a, ones, ones, chunk_size)
    return y.squeeze(2)


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
    ) -> torch.Tensor:
        """z (B, M, D) inner output; boundary_prob/mask (B, L); order (B, M) -> (B, L, D)."""
        p = wide(boundary_prob).clamp(P_CLAMP, 1 - P_CLAMP).gather(1, order)  # (B, M)
        zbar = ema_scan(z, p, self.chunk_size).to(z.dtype)
        idx = (boundary_mask.cumsum(dim=1) - 1).clamp(min=0)  # (B, L): chunk of each byte
        return zbar.gather(1, idx.unsqueeze(-1).expand(-1, -1, z.shape[-1]))


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.ones_like(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
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
