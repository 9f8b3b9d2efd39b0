"""The recursive H-Net: encoder -> routing -> chunk -> inner H-Net -> dechunk (+ residual) -> decoder.

`HNet(config, level)` maps (B, L, D_in) to (B, L, D_in). Its forward returns an `HNetOutput`:
besides the hidden states, one `StageOutput` per routing stage (outermost first) with everything
the boundary browser and embedding extraction need, so one forward serves them all, and the
innermost level's output (`InnerOutput`).

Incremental decoding: `forward(..., return_state=True)` also returns (`HNetOutput.state`) the
`HNetState` a prompt leaves behind (each sub-module's own state, nested), and `step(h, state)`
advances one byte per row. A step runs the inner level only for the rows whose router fires at
that position (recursively, so a 2-stage model's innermost level runs only where both routers fire).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hnet_bio.cache import HNetState, IsotropicState, put_rows, select_rows
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


@dataclass
class HNetOutput:
    """One level's forward: its output and what the levels at and below it decided."""

    hidden_states: torch.Tensor  # (B, L, D_in), back at the caller's width
    stages: list[StageOutput]  # one per routing stage at and below this level, outermost first
    inner: InnerOutput  # the innermost level's output
    state: HNetState | None = None  # with return_state: after each row's last valid position


class HNet(nn.Module):
    def __init__(self, config: HNetConfig, level: int = 0) -> None:
        super().__init__()
        self.level = level
        self.d_model = config.d_model[level]
        layout = config.layout_at(level)
        self.is_innermost = len(layout) == 1
        d_prev = config.d_model[level - 1] if level > 0 else self.d_model
        self.pad_dimension: nn.Parameter | None = None
        if level > 0 and self.d_model > d_prev:
            self.pad_dimension = nn.Parameter(torch.zeros(self.d_model - d_prev))
        # The innermost level's main network is a stack, every other level's the next HNet.
        self.main_network: HNet | Isotropic
        if self.is_innermost:
            self.main_network = Isotropic(layout[0], config, level)
            return
        self.encoder = Isotropic(layout[0], config, level)
        self.main_network = HNet(config, level + 1)
        self.decoder = Isotropic(layout[2], config, level)
        self.routing_module = RoutingModule(self.d_model)
        self.chunk_layer = ChunkLayer()
        self.dechunk_layer = DeChunkLayer()
        self.residual_proj = nn.Linear(self.d_model, self.d_model, dtype=torch.float32)
        nn.init.zeros_(self.residual_proj.weight)
        self.residual_proj.weight._no_reinit = True  # type: ignore[attr-defined]  # a marker init.py reads

    def forward(self, h: torch.Tensor, mask: torch.Tensor, return_state: bool = False) -> HNetOutput:
        """h (B, L, D_in), mask (B, L) bool -> `HNetOutput` with hidden_states (B, L, D_in) (and,
        with return_state, the `HNetState` after each row's last valid position)."""
        d_in = h.shape[-1]
        h = self._pad(h)
        main = self.main_network
        if isinstance(main, Isotropic):  # the innermost level
            h, main_state = _call(main, return_state, h, mask)
            state = HNetState(main_state) if return_state else None
            return HNetOutput(h[..., :d_in], [], InnerOutput(h, mask), state)

        x, encoder = _call(self.encoder, return_state, h, mask)  # (B, L, D)
        residual = self.residual_proj(
            wide(x).to(self.residual_proj.weight.dtype)
        )  # fp32, zero-initialised weight
        route, routing = _call(self.routing_module, return_state, x, mask)
        chunks, chunk_mask, order = self.chunk_layer(x, route.boundary_mask)  # (B, M, D)
        inner: HNetOutput = main(chunks, chunk_mask, return_state)
        y, dechunk = _call(
            self.dechunk_layer, return_state, inner.hidden_states, route.boundary_prob,
            route.boundary_mask, order,
        )  # (B, L, D)
        y = (wide(y) * straight_through(route.selected_probs) + residual).to(x.dtype)
        y, decoder = _call(self.decoder, return_state, y, mask)
        stage = StageOutput(
            boundary_prob=route.boundary_prob,
            boundary_mask=route.boundary_mask,
            mask=mask,
            chunk_count=route.boundary_mask.sum(-1),
            hidden_states=x,
            chunk_mask=chunk_mask,
        )
        state = None
        if return_state:
            assert inner.state is not None
            state = HNetState(inner.state, encoder, routing, dechunk, decoder)
        return HNetOutput(y[..., :d_in], [stage, *inner.stages], inner.inner, state)

    def step(self, h: torch.Tensor, state: HNetState) -> torch.Tensor:
        """h (B, D_in), one more byte (or chunk) per row -> (B, D_in), as `forward` gives there."""
        d_in = h.shape[-1]
        h = self._pad(h)
        main = self.main_network
        if isinstance(main, Isotropic):
            assert isinstance(state.main, IsotropicState)
            return main.step(h, state.main)[..., :d_in]
        assert state.encoder and state.routing and state.dechunk and state.decoder
        assert isinstance(state.main, HNetState)
        x = self.encoder.step(h, state.encoder)  # (B, D)
        residual = self.residual_proj(wide(x).to(self.residual_proj.weight.dtype))
        route = self.routing_module.step(x, state.routing)  # (B,) tensors
        z = _step_rows(main, x, route.boundary_mask, state.main)
        y = self.dechunk_layer.step(z, route.boundary_prob, route.boundary_mask, state.dechunk, x.dtype)
        y = (wide(y) + residual).to(x.dtype)  # the straight-through factor is exactly 1 forward
        return self.decoder.step(y, state.decoder)[..., :d_in]

    def _pad(self, h: torch.Tensor) -> torch.Tensor:
        """(..., D_in) -> (..., D): the learned pad_dimension appended when this level is wider."""
        if self.pad_dimension is None:
            return h
        return torch.cat([h, self.pad_dimension.to(h.dtype).expand(*h.shape[:-1], -1)], dim=-1)


def _step_rows(inner: HNet, x: torch.Tensor, fired: torch.Tensor, state: HNetState) -> torch.Tensor | None:
    """x (B, D) -> the inner level's output (B, D) for the rows that fired (zeros elsewhere,
    which the dechunk step does not read), None if none did; only those rows' state advances."""
    rows = fired.nonzero().squeeze(-1)
    if rows.numel() == x.shape[0]:
        return inner.step(x, state)
    if not rows.numel():
        return None
    sub = select_rows(state, rows)
    z = torch.zeros_like(x)
    z[rows] = inner.step(x.index_select(0, rows), sub)
    put_rows(state, rows, sub)
    return z


def _call(module: nn.Module, return_state: bool, *args: Any) -> tuple[Any, Any]:
    """module(*args) -> (output, its state or None): one code path for forward and prefill."""
    if return_state:
        return module(*args, return_state=True)
    return module(*args), None
