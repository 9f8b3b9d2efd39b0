"""Incremental inference entry points: prefill a prompt in one forward, then one byte at a time.

`prefill(model, ids, mask)` is the model's own forward with `return_state=True`: every module
returns the state its next position needs. `step(model, byte, state)` then costs O(1) per byte at
level 0 (`HNetLM.step` -> `HNet.step` -> each module's `step`). Tests hold prefill + steps equal to
the parallel forward.
"""

from __future__ import annotations

import torch

from hnet_bio.cache import HNetState
from hnet_bio.layers.block import IsotropicState
from hnet_bio.lm import HNetLM, IsotropicLM

State = HNetState | IsotropicState


@torch.no_grad()
def prefill(
    model: HNetLM | IsotropicLM, input_ids: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, State]:
    """input_ids (B, L) right-padded bytes, mask (B, L) -> logits (B, L, V), state after each row."""
    out = model(input_ids, mask, return_state=True)
    assert out.state is not None
    return out.logits, out.state


@torch.no_grad()
def step(model: HNetLM | IsotropicLM, byte: torch.Tensor, state: State) -> torch.Tensor:
    """byte (B,) the next byte of every row -> logits (B, V) for the byte after it."""
    return model.step(byte, state)
