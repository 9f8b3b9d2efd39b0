"""Pre-norm residual blocks and Isotropic stacks parsed from layout strings like "T1m4".

m = Mamba-2, M = Mamba-2 + SwiGLU, t = attention, T = attention + SwiGLU. The residual stream is
kept in float32 (the reference's residual_in_fp32) and every Isotropic ends with its own RMSNorm.

Incremental decoding: blocks and stacks hold no state of their own; `forward(..., return_state=True)`
collects their mixers' states into an `IsotropicState` (defined here, beside the stack it belongs
to), and `step` passes it back to the mixers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from hnet_bio.config import LAYOUT_TOKEN, HNetConfig
from hnet_bio.dtypes import wide
from hnet_bio.layers.attention import CausalMHA, KVCache
from hnet_bio.layers.mamba2 import Mamba2, MambaState
from hnet_bio.layers.mlp import SwiGLU
from hnet_bio.layers.norm import RMSNorm


@dataclass
class IsotropicState:
    """What one stack needs for its next position: its mixers' states and how far each row got."""

    layers: list[MambaState | KVCache]  # one per block, in order
    length: torch.Tensor  # (B,) long: positions seen at this level


def parse_layout(layout: str) -> list[str]:
    """ "T1m4" -> ["T", "m", "m", "m", "m"]."""
    return [kind for kind, count in LAYOUT_TOKEN.findall(layout) for _ in range(int(count))]


def layout_height(layout: str) -> int:
    """Residual additions in a layout (lower case 1, upper case 2); scales out_proj/fc2 init."""
    return sum(1 if kind.islower() else 2 for kind in parse_layout(layout))


class Block(nn.Module):
    """norm1 -> mixer (-> norm2 -> mlp), with the residual added before each norm."""

    def __init__(self, kind: str, config: HNetConfig, level: int) -> None:
        super().__init__()
        d = config.d_model[level]
        eps = config.hnet_bio.norm_eps
        self.kind = kind
        self.norm1 = RMSNorm(d, eps)
        if kind in "mM":
            ssm = config.ssm_cfg
            self.mixer: Mamba2 | CausalMHA = Mamba2(
                d,
                d_state=ssm.d_state,
                d_conv=ssm.d_conv,
                expand=ssm.expand,
                headdim=config.hnet_bio.ssm_headdim,
                ngroups=config.hnet_bio.ssm_ngroups,
                chunk_size=ssm.chunk_size,
                norm_eps=eps,
            )
        else:
            attn = config.attn_cfg
            self.mixer = CausalMHA(
                d, attn.num_heads[level], attn.rotary_emb_dim[level], attn.window_size[level]
            )
        if kind in "MT":
            self.norm2 = RMSNorm(d, eps)
            self.mlp: SwiGLU | None = SwiGLU(d, config.d_intermediate[level], config.hnet_bio.d_ff_multiple)
        else:
            self.mlp = None

    def forward(
        self,
        h: torch.Tensor,
        residual: torch.Tensor | None,
        mask: torch.Tensor | None = None,
        return_state: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, MambaState | KVCache]:
        """h (B, L, D) in the compute dtype, residual (B, L, D) fp32 or None -> (h, residual)
        (and the mixer's state with return_state)."""
        residual = wide(h) if residual is None else residual + wide(h)
        x = self.norm1(residual, out_dtype=h.dtype)
        if return_state:
            x, state = self.mixer(x, mask=mask, return_state=True)
        else:
            x = self.mixer(x, mask=mask)
        h, residual = self._mlp(x, residual)
        return (h, residual, state) if return_state else (h, residual)

    def step(
        self, h: torch.Tensor, residual: torch.Tensor | None, state: MambaState | KVCache
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` for one position per row: h (B, D), residual (B, D) fp32 or None."""
        residual = wide(h) if residual is None else residual + wide(h)
        x = self._mixer_step(self.norm1(residual, out_dtype=h.dtype), state)
        return self._mlp(x, residual)

    def _mixer_step(self, x: torch.Tensor, state: MambaState | KVCache) -> torch.Tensor:
        if isinstance(self.mixer, Mamba2) and isinstance(state, MambaState):
            return self.mixer.step(x, state)
        if isinstance(self.mixer, CausalMHA) and isinstance(state, KVCache):
            return self.mixer.step(x, state)
        raise TypeError(f"a {type(state).__name__} is not the state of a {type(self.mixer).__name__} mixer")

    def _mlp(self, h: torch.Tensor, residual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mlp is None:
            return h, residual
        residual = residual + wide(h)
        return self.mlp(self.norm2(residual, out_dtype=h.dtype)), residual


class Isotropic(nn.Module):
    """A flat stack of blocks at one width, ending in RMSNorm: (B, L, D) -> (B, L, D)."""

    def __init__(self, layout: str, config: HNetConfig, level: int) -> None:
        super().__init__()
        self.layout = layout
        self.height = layout_height(layout)
        self.layers = nn.ModuleList(Block(kind, config, level) for kind in parse_layout(layout))
        self.rmsnorm = RMSNorm(config.d_model[level], config.hnet_bio.norm_eps)

    @property
    def blocks(self) -> Sequence[Block]:
        """`layers` (the reference's name) with its element type: nn.ModuleList is untyped."""
        return cast(Sequence[Block], self.layers)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, IsotropicState]:
        """h (B, L, D), mask (B, L) valid prefix -> (B, L, D) (and the state after each row's end)."""
        residual = None
        states: list[MambaState | KVCache] = []
        for layer in self.blocks:
            if return_state:
                h, residual, state = layer(h, residual, mask, return_state=True)
                states.append(state)
            else:
                h, residual = layer(h, residual, mask)
        out = self._final(h, residual)
        if not return_state:
            return out
        b, l = h.shape[:2]
        length = torch.full((b,), l, device=h.device) if mask is None else mask.sum(-1)
        return out, IsotropicState(states, length)

    def step(self, h: torch.Tensor, state: IsotropicState) -> torch.Tensor:
        """h (B, D), one more position per row -> (B, D)."""
        residual = None
        for layer, layer_state in zip(self.blocks, state.layers):
            h, residual = layer.step(h, residual, layer_state)
        state.length = state.length + 1
        return self._final(h, residual)

    def _final(self, h: torch.Tensor, residual: torch.Tensor | None) -> torch.Tensor:
        final = wide(h) if residual is None else residual + wide(h)
        return self.rmsnorm(final, out_dtype=h.dtype)
