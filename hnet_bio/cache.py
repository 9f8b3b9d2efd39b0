"""The nested decoding state of an H-Net, and moving rows in and out of any decoding state.

Each module owns the state it needs for the next position and defines it beside its code:
`MambaState` (layers/mamba2.py), `KVCache` (layers/attention.py), `IsotropicState` (the per-block
states of one stack plus positions seen per row, layers/block.py), `RoutingState` and
`DeChunkState` (dc.py). A module's `forward(..., return_state=True)` returns the state a prompt
leaves behind and its `step(x, state)` advances it by one position. This file holds the container
that nests them per level, `HNetState`: encoder / routing / inner level / dechunk / decoder; the
innermost level only has `main`. (It sits above layers/ and dc.py and imports them, never the
reverse.)

Rows are independent: `select_rows` and `put_rows` move a subset of rows out of and back into a
state, which is how an inner level advances only for the rows whose router fired.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import torch

from hnet_bio.dc import DeChunkState, RoutingState
from hnet_bio.layers.attention import KVCache
from hnet_bio.layers.block import IsotropicState

T = TypeVar("T")


@dataclass
class HNetState:
    main: HNetState | IsotropicState  # the inner level (or the innermost stack)
    encoder: IsotropicState | None = None
    routing: RoutingState | None = None
    dechunk: DeChunkState | None = None
    decoder: IsotropicState | None = None


def select_rows(state: T, rows: torch.Tensor) -> T:
    """A new state holding only `rows` (1-D long) of every tensor, in that order."""
    return cast(T, _select(state, rows))  # _select rebuilds every value as its own type


def _select(value: object, rows: torch.Tensor) -> object:
    if isinstance(value, torch.Tensor):
        return value.index_select(0, rows)
    if isinstance(value, list):
        return [_select(v, rows) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return dataclasses.replace(value, **{f.name: _select(getattr(value, f.name), rows) for f in fields})
    return value


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
