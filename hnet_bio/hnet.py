"""The recursive H-Net: encoder -> routing -> chunk -> inner H-Net -> dechunk (+ residual) -> decoder.

`HNet(config, level)` maps (B, L, D_in) to (B, L, D_in). Above the innermost level it returns,
besides the hidden states, one `StageOutput` per routing stage (outermost first) with everything
the boundary browser and embedding extraction need, so one forward serves them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hnet_bio.config import HNetConfig
from hnet_bio.dc import ChunkLayer, DeChunkLayer, RoutingModule, straight_through
from hnet_bio.dtypes import wide
from hnet_bio.layers.block import Isotropic


@dataclass
class StageOutput:
    """What one routing stage decided, at its own resolution L_s (bytes for stage 0)."""

    boundary_prob: torch.Tensor  # (B, L_s) float32
    boundary_mask: torch.Tensor  # (B, L_s) bool
    mask: torch.Tensor  # (B, L_s) bool, valid positions
    chunk_count: torch.Tensor  # (B,) long, chunks per row
    hidden_states: torch.Tensor  # (B, L_s, D_s) encoder output the router looked at
    chunk_mask: torch.Tensor  # (B, M_s) bool, valid chunks (the next level's mask)

    @property
    def compression(self) -> float:
        """Valid positions per chunk over the batch (the paper's L / M)."""
        return float(self.mask.sum()) / max(1, int(self.chunk_count.sum()))


@dataclass
class InnerOutput:
    """The innermost level's output over its (chunk) sequence: the most compressed representation."""

    hidden_states: torch.Tensor  # (B, M, D_S)
    mask: torch.Tensor  # (B, M) bool


class HNet(nn.Module):
    def __init__(self, config: HNetConfig, level: int = 0) -> None:
        super().__init__()
        self.level = level
        self.d_model = config.d_model[level]
        layout = config.layout_at(level)
        self.is_innermost = len(layout) == 1
        d_prev = config.d_model[level - 1] if level > 0 else self.d_model
        if level > 0 and self.d_model > d_prev:
            self.pad_dimension = nn.Parameter(torch.zeros(self.d_model - d_prev))
        else:
            self.pad_dimension = None
        if self.is_innermost:
            self.main_network: nn.Module = Isotropic(layout[0], config, level)
            return
        self.encoder = Isotropic(layout[0], config, level)
        self.main_network = HNet(config, level + 1)
        self.decoder = Isotropic(layout[2], config, level)
        self.routing_module = RoutingModule(self.d_model)
        self.chunk_layer = ChunkLayer()
        self.dechunk_layer = DeChunkLayer()
        self.residual_proj = nn.Linear(self.d_model, self.d_model, dtype=torch.float32)
        nn.init.zeros_(self.residual_proj.weight)
        self.residual_proj.weight._no_reinit = True  # type: ignore[attr-defined]

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, list[StageOutput], InnerOutput]:
        """h (B, L, D_in), mask (B, L) bool -> (B, L, D_in), stage outputs, innermost output."""
        d_in = h.shape[-1]
        if self.pad_dimension is not None:
            h = torch.cat([h, self.pad_dimension.to(h.dtype).expand(*h.shape[:-1], -1)], dim=-1)
        if self.is_innermost:
            h = self.main_network(h, mask)
            return h[..., :d_in], [], InnerOutput(h, mask)

        x = self.encoder(h, mask)  # (B, L, D)
        residual = self.residual_proj(
            wide(x).to(self.residual_proj.weight.dtype)
        )  # fp32, zero-initialised weight
        route = self.routing_module(x, mask)
        chunks, chunk_mask, order = self.chunk_layer(x, route.boundary_mask)  # (B, M, D)
        inner, inner_stages, innermost = self.main_network(chunks, chunk_mask)
        y = self.dechunk_layer(inner, route.boundary_prob, route.boundary_mask, order)  # (B, L, D)
        y = (wide(y) * straight_through(route.selected_probs) + residual).to(x.dtype)
        y = self.decoder(y, mask)
        stage = StageOutput(
            boundary_prob=route.boundary_prob,
            boundary_mask=route.boundary_mask,
            mask=mask,
            chunk_count=route.boundary_mask.sum(-1),
            hidden_states=x,
            chunk_mask=chunk_mask,
        )
        return y[..., :d_in], [stage, *inner_stages], innermost
