"""Inference state: what each layer must remember so the next byte costs O(1) at byte level.

One typed dataclass per kind of memory, nested like the model:

- `MambaCache`: the last d_conv-1 raw conv inputs and the SSM state of one Mamba-2 layer.
- `KVCache`: keys (rotary applied) and values of one attention layer, with the position each slot
  holds. A sliding window w keeps a ring of w+1 slots (slot = position mod (w+1)), so memory is
  O(w); global attention keeps slot = position and grows by doubling.
- `IsotropicState`: the layer caches of one stack plus `length`, tokens seen at that level per row
  (the next token's attention position).
- `RoutingState`: the previous encoder vector the router compares against, and whether a row has
  seen any token (the first token is always a boundary).
- `DeChunkState`: the last EMA value zbar, repeated on bytes where the router does not fire.
- `HNetState`: encoder / routing / inner level / dechunk / decoder for one level; the innermost
  level only has `main`.

Rows are independent: `select_rows` and `put_rows` move a subset of rows out of and back into a
state, which is how an inner level advances only for the rows whose router fired.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

T = TypeVar("T")


@dataclass
class MambaCache:
    conv: torch.Tensor  # (B, conv_dim, d_conv-1) raw pre-conv inputs, newest last
    ssm: torch.Tensor  # (B, H, P, N) in float32 (float64 for float64 models)


@dataclass
class KVCache:
    k: torch.Tensor  # (B, S, H, d) rotary already applied
    v: torch.Tensor  # (B, S, H, d)
    pos: torch.Tensor  # (B, S) long: position of the key in each slot, -1 = empty
    window: int  # -1 = global (slot = position, grows); w >= 0: ring of w+1 slots

    @property
    def capacity(self) -> int:
        return self.k.shape[1]

    def slots(self, positions: torch.Tensor) -> torch.Tensor:
        """Slot index for each position (any shape)."""
        return positions % self.capacity if self.window >= 0 else positions

    def grow(self, capacity: int) -> None:
        """Global caches only: make room for `capacity` slots (empty slots get pos -1)."""
        extra = capacity - self.capacity
        if extra <= 0:
            return
        b, _, h, d = self.k.shape
        self.k = torch.cat([self.k, self.k.new_zeros(b, extra, h, d)], dim=1)
        self.v = torch.cat([self.v, self.v.new_zeros(b, extra, h, d)], dim=1)
        self.pos = torch.cat([self.pos, self.pos.new_full((b, extra), -1)], dim=1)

    def write(self, k: torch.Tensor, v: torch.Tensor, positions: torch.Tensor) -> None:
        """Store one new key/value per row: k, v (B, H, d) at positions (B,)."""
        if self.window < 0 and int(positions.max()) >= self.capacity:
            self.grow(max(2 * self.capacity, int(positions.max()) + 1))
        rows = torch.arange(k.shape[0], device=k.device)
        slot = self.slots(positions)
        self.k[rows, slot] = k.to(self.k.dtype)
        self.v[rows, slot] = v.to(self.v.dtype)
        self.pos[rows, slot] = positions

    def visible(self, positions: torch.Tensor) -> torch.Tensor:
        """(B, S) bool: slots a query at `positions` (B,) may attend (causal, inside the window)."""
        q = positions[:, None]
        ok = (self.pos >= 0) & (self.pos <= q)
        if self.window >= 0:
            ok &= q - self.pos <= self.window
        return ok


@dataclass
class IsotropicState:
    layers: list[Any]  # MambaCache | KVCache per block, in order
    length: torch.Tensor  # (B,) long: tokens seen at this level


@dataclass
class RoutingState:
    last_hidden: torch.Tensor  # (B, D) encoder output at the previous token
    has_seen: torch.Tensor  # (B,) bool


@dataclass
class DeChunkState:
    last_value: torch.Tensor  # (B, D) zbar of the current chunk, float32 (float64)


@dataclass
class HNetState:
    main: HNetState | IsotropicState  # the inner level (or the innermost stack)
    encoder: IsotropicState | None = None
    routing: RoutingState | None = None
    dechunk: DeChunkState | None = None
    decoder: IsotropicState | None = None

    @property
    def inner(self) -> HNetState | None:
        return self.main if isinstance(self.main, HNetState) else None


def batch_size(state: HNetState | IsotropicState) -> int:
    while isinstance(state, HNetState):
        state = state.main
    return int(state.length.shape[0])


def select_rows(state: T, rows: torch.Tensor) -> T:
    """A new state holding only `rows` (1-D long) of every tensor, in that order."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, rows)  # type: ignore[return-value]
    if isinstance(state, list):
        return [select_rows(s, rows) for s in state]  # type: ignore[return-value]
    if dataclasses.is_dataclass(state):
        values = {f.name: select_rows(getattr(state, f.name), rows) for f in dataclasses.fields(state)}
        return type(state)(**values)  # type: ignore[return-value]
    return state


def put_rows(state: Any, rows: torch.Tensor, sub: Any) -> None:
    """Write the rows of `sub` (a `select_rows` result, possibly advanced) back into `state`."""
    if isinstance(state, KVCache):
        state.grow(sub.capacity)
        sub.grow(state.capacity)
    if isinstance(state, list):
        for s, t in zip(state, sub):
            put_rows(s, rows, t)
        return
    if not dataclasses.is_dataclass(state):
        return
    for f in dataclasses.fields(state):
        dst, src = getattr(state, f.name), getattr(sub, f.name)
        if isinstance(dst, torch.Tensor):
            dst.index_copy_(0, rows, src.to(dst.dtype))
        else:
            put_rows(dst, rows, src)
