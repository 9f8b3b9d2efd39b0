"""Inference state containers, nested like the model, and moving rows in and out of them.

Each module owns the state it needs for the next position and defines it beside its code:
`MambaState` (layers/mamba2.py), `KVCache` (layers/attention.py), `RoutingState` and
`DeChunkState` (dc.py). A module's `forward(..., return_state=True)` returns the state a prompt
leaves behind and its `step(x, state)` advances it by one position. This file holds the two
containers that nest them:

- `IsotropicState`: the per-block states of one stack plus `length`, positions seen per row.
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

from hnet_bio.dc import DeChunkState, RoutingState
from hnet_bio.layers.attention import KVCache

T = TypeVar("T")


@dataclass
class IsotropicState:
    layers: list[Any]  # MambaState | KVCache per block, in order
    length: torch.Tensor  # (B,) long: positions seen at this level


@dataclass
class HNetState:
    main: HNetState | IsotropicState  # the inner level (or the innermost stack)
    encoder: IsotropicState | None = None
    routing: RoutingState | None = None
    dechunk: DeChunkState | None = None
    decoder: IsotropicState | None = None


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
    """Write the rows of `sub` (a `select_rows` result, possibly advanced) back into `state`.

    A global KV cache of the sub-state may have grown; both are brought to the same capacity first.
    """
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
