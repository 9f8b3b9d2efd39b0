"""Causal multi-head attention with fused Wqkv, partial rotary and an optional sliding window.

Rotary is GPT-NeoX style (rotate-half) on the first `rotary_emb_dim` channels of each q/k head,
base 10000. window w >= 0 lets query i see keys j in [i - w, i]; w = -1 is global causal.
Positions are indices within the current level's sequence (chunk index at inner levels).

Incremental decoding: `forward(x, mask, return_state=True)` also returns the `KVCache` a prompt
leaves behind, and `step(x, cache)` attends one new token per row to it. A sliding window w keeps a
ring of w+1 slots (slot = position mod (w+1)), so its memory is O(w); global attention keeps
slot = position and grows by doubling.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hnet_bio import kernels

GLOBAL_KV_MIN = 64  # free slots a global KV cache starts with beyond the prompt


@dataclass
class KVCache:
    """Keys (rotary applied) and values of one attention layer, with the position each slot holds."""

    k: torch.Tensor  # (B, S, H, d)
    v: torch.Tensor  # (B, S, H, d)
    pos: torch.Tensor  # (B, S) long: position of the key in each slot, -1 = empty
    length: torch.Tensor  # (B,) long: tokens written so far = the next token's position
    window: int  # -1 = global (slot = position, grows); w >= 0: ring of w+1 slots

    @classmethod
    def from_prompt(cls, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, window: int) -> KVCache:
        """The cache after right-padded keys/values k, v (B, L, H, d) with valid prefix mask (B, L)."""
        b, l = mask.shape
        positions = torch.arange(l, device=k.device)
        lengths = mask.sum(-1)  # (B,)
        if window < 0:
            cap = l + GLOBAL_KV_MIN
            pad = (0, 0, 0, 0, 0, cap - l)
            pos = F.pad(torch.where(mask, positions[None], -1), (0, cap - l), value=-1)
            return cls(F.pad(k, pad), F.pad(v, pad), pos, lengths, window)
        s = window + 1
        idx = lengths[:, None] - s + torch.arange(s, device=k.device)[None]  # (B, S) last S positions
        take = idx.clamp(min=0)[..., None, None].expand(-1, -1, *k.shape[2:])
        slot = (idx % s)[..., None, None].expand_as(take)  # a permutation of the S slots per row
        kc = k.new_zeros(b, s, *k.shape[2:]).scatter(1, slot, k.gather(1, take))
        vc = torch.zeros_like(kc).scatter(1, slot, v.gather(1, take))
        pos = torch.full((b, s), -1, dtype=torch.long, device=k.device).scatter(1, idx % s, idx.clamp(min=-1))
        return cls(kc, vc, pos, lengths, window)

    @property
    def capacity(self) -> int:
        return self.k.shape[1]

    def grow(self, capacity: int) -> None:
        """Global caches only: make room for `capacity` slots (empty slots get pos -1)."""
        extra = capacity - self.capacity
        if extra <= 0:
            return
        b, _, h, d = self.k.shape
        self.k = torch.cat([self.k, self.k.new_zeros(b, extra, h, d)], dim=1)
        self.v = torch.cat([self.v, self.v.new_zeros(b, extra, h, d)], dim=1)
        self.pos = torch.cat([self.pos, self.pos.new_full((b, extra), -1)], dim=1)

    def write(self, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store one new key/value per row, k, v (B, H, d), at position `length`, and advance it."""
        positions = self.length
        if self.window < 0 and int(positions.max()) >= self.capacity:
            self.grow(max(2 * self.capacity, int(positions.max()) + 1))
        rows = torch.arange(k.shape[0], device=k.device)
        slot = positions % self.capacity if self.window >= 0 else positions
        self.k[rows, slot] = k.to(self.k.dtype)
        self.v[rows, slot] = v.to(self.v.dtype)
        self.pos[rows, slot] = positions
        self.length = positions + 1

    def visible(self, positions: torch.Tensor) -> torch.Tensor:
        """(B, S) bool: slots a query at `positions` (B,) may attend (causal, inside the window)."""
        q = positions[:, None]
        ok = (self.pos >= 0) & (self.pos <= q)
        if self.window >= 0:
            ok &= q - self.pos <= self.window
        return ok


class RotaryEmbedding(nn.Module):
    """NeoX rotary frequencies 1 / base^(2i/dim); computed per call in fp32 (fp64 for fp64 models)."""

    def __init__(self, dim: int, base: float = 10000.0) -> None:
        super().__init__()
        self.dim, self.base = dim, base

    def cos_sin(
        self, positions: torch.Tensor, dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """positions (L,) or (B, L) -> cos, sin (..., L, dim/2)."""
        wide_dtype = torch.float64 if dtype == torch.float64 else torch.float32
        exponents = torch.arange(0, self.dim, 2, dtype=wide_dtype, device=positions.device) / self.dim
        freqs = positions.to(wide_dtype).unsqueeze(-1) * self.base**-exponents
        return freqs.cos(), freqs.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, L, H, d) with rotary on x[..., :2*cos.shape[-1]]; cos/sin (L, r/2) or (B, L, r/2)."""
    half = cos.shape[-1]
    if half == 0:
        return x
    x1, x2, rest = x[..., :half], x[..., half : 2 * half], x[..., 2 * half :]
    cos = cos.unsqueeze(-2).to(x.dtype)  # broadcast over heads
    sin = sin.unsqueeze(-2).to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], dim=-1)


def window_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, window: int) -> torch.Tensor:
    """Boolean (Lq, Lk) mask, True where query may attend key: causal and within the window."""
    diff = q_pos[:, None] - k_pos[None, :]
    allowed = diff >= 0
    if window >= 0:
        allowed &= diff <= window
    return allowed


class CausalMHA(nn.Module):
    def __init__(self, d_model: int, num_heads: int, rotary_emb_dim: int = 0, window_size: int = -1) -> None:
        super().__init__()
        self.d_model, self.num_heads = d_model, num_heads
        self.head_dim = d_model // num_heads
        self.window_size = window_size
        self.Wqkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        self.rotary_emb = RotaryEmbedding(rotary_emb_dim) if rotary_emb_dim > 0 else None

    def qkv(self, x: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """x (B, L, D), positions (L,) or (B, L) -> q, k, v each (B, L, H, d), rotary applied."""
        b, l, _ = x.shape
        q, k, v = self.Wqkv(x).view(b, l, 3, self.num_heads, self.head_dim).unbind(dim=2)
        if self.rotary_emb is not None:
            cos, sin = self.rotary_emb.cos_sin(positions, x.dtype)
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        return q, k, v

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, KVCache]:
        """x (B, L, D) -> (B, L, D). Causal, so right padding never reaches a valid position;
        mask (B, L) only tells `return_state` which keys the cache keeps."""
        b, l, _ = x.shape
        positions = torch.arange(l, device=x.device)
        q, k, v = self.qkv(x, positions)
        if kernels.use_fused("flash_attn", x) and x.dtype in (torch.float16, torch.bfloat16):
            out = kernels.fused_attention(q, k, v, self.window_size)
        else:
            qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, L, d)
            if self.window_size < 0 or self.window_size >= l - 1:
                out = F.scaled_dot_product_attention(qt, kt, vt, is_causal=True)
            else:
                allowed = window_mask(positions, positions, self.window_size)
                out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=allowed)
            out = out.transpose(1, 2)
        out = self.out_proj(out.reshape(b, l, self.d_model))
        if not return_state:
            return out
        if mask is None:
            mask = torch.ones(b, l, dtype=torch.bool, device=x.device)
        return out, KVCache.from_prompt(k, v, mask, self.window_size)

    def step(self, x: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """x (B, D), one token per row at position cache.length -> (B, D), attending the cache."""
        b = x.shape[0]
        positions = cache.length
        q, k, v = self.qkv(x.unsqueeze(1), positions.unsqueeze(1))  # (B, 1, H, d)
        cache.write(k[:, 0], v[:, 0])
        allowed = cache.visible(positions)[:, None, None, :]  # (B, 1, 1, S)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), cache.k.transpose(1, 2), cache.v.transpose(1, 2), attn_mask=allowed
        )  # (B, H, 1, d)
        return self.out_proj(out.reshape(b, self.d_model))
