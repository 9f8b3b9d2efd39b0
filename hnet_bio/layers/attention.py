"""Causal multi-head attention with fused Wqkv, partial rotary and an optional sliding window.

Rotary is GPT-NeoX style (rotate-half) on the first `rotary_emb_dim` channels of each q/k head,
base 10000. window w >= 0 lets query i see keys j in [i - w, i]; w = -1 is global causal.
Positions are indices within the current level's sequence (chunk index at inner levels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hnet_bio import kernels


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, l, _ = x.shape
        positions = torch.arange(l, device=x.device)
        q, k, v = self.qkv(x, positions)
        if kernels.use_fused("flash_attn", x) and x.dtype in (torch.float16, torch.bfloat16):
            out = kernels.fused_attention(q, k, v, self.window_size)
        else:
            q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, L, d)
            if self.window_size < 0 or self.window_size >= l - 1:
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                mask = window_mask(positions, positions, self.window_size)
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            out = out.transpose(1, 2)
        return self.out_proj(out.reshape(b, l, self.d_model))
