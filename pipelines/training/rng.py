"""Every random generator a training step may draw from, seeded, captured and restored.

A checkpoint holds the state of Python's, NumPy's and torch's global generators (CUDA's too when
it is in use), so a resumed run draws exactly what the uninterrupted run drew. The states are
kept as JSON (``trainer_state.json``): NumPy's key array as a list, torch's byte tensors as base64.
"""

from __future__ import annotations

import base64
import random
from typing import Any

import numpy as np
import torch


def seed_rng(seed: int) -> None:
    """Seed Python's and NumPy's global generators (torch's is seeded where the model is built), so
    the states checkpointed are a function of the seed and the steps, not of the process."""
    random.seed(seed)
    np.random.seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU, and CUDA if used) generator states, JSON-serialisable."""
    np_state: Any = np.random.get_state()  # ("MT19937", keys, pos, has_gauss, cached_gaussian)
    state: dict[str, Any] = {
        "python": _to_json(random.getstate()),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [base64.b64encode(s.numpy().tobytes()).decode()
                         for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of `capture_rng_state`."""
    random.setstate(_from_json(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(_decode_bytes(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_decode_bytes(s) for s in state["cuda"]])


def _decode_bytes(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8).clone()


def _to_json(obj: Any) -> Any:
    return [_to_json(o) for o in obj] if isinstance(obj, tuple) else obj


def _from_json(obj: Any) -> Any:
    return tuple(_from_json(o) for o in obj) if isinstance(obj, list) else obj
