"""The one place that decides between fused CUDA kernels and the pure-PyTorch path.

Fused kernels (mamba_ssm's chunked scan, flash_attn) are used only when (1) the package imports,
(2) the tensors live on a CUDA device and (3) `HNET_BIO_PURE=1` is not set. Nothing here imports
a CUDA package at module load: on a CPU machine this file costs nothing and the pure path runs.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from typing import Any

import torch

# The fused paths this project calls (mamba_ssm's scan, flash_attn's attention); the conv stays pure.
_PACKAGES = ("mamba_ssm", "flash_attn")


@functools.cache
def _importable(module: str) -> bool:
    if importlib.util.find_spec(module) is None:
        return False
    try:
        importlib.import_module(module)
    except Exception:  # present but built for another CUDA/torch: treat as absent
        return False
    return True


def available() -> dict[str, bool]:
    """Which fused kernels could run here (package importable and a CUDA device present)."""
    cuda = torch.cuda.is_available()
    return {name: cuda and _importable(name) for name in _PACKAGES}


def pure_forced() -> bool:
    return os.environ.get("HNET_BIO_PURE", "") not in ("", "0")


def use_fused(name: str, tensor: torch.Tensor) -> bool:
    """True when the fused kernel `name` should handle `tensor`."""
    if pure_forced() or not tensor.is_cuda:
        return False
    return available().get(name, False)


def fused_ssd(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    chunk_size: int,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """mamba_ssm's chunked scan: x (b,l,h,p), dt (b,l,h) after softplus, A (h,), B/C (b,l,g,n).

    Same recurrence as `layers.ssd.ssd_chunked(dt*x, dt*A, B, C)`; returns (y, final_state).
    """
    ops: Any = importlib.import_module("mamba_ssm.ops.triton.ssd_combined")
    y, final = ops.mamba_chunk_scan_combined(
        x, dt, A, B, C, chunk_size=chunk_size, initial_states=initial_state, return_final_states=True
    )
    return y, final


def fused_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int) -> torch.Tensor:
    """flash_attn causal attention: q, k, v (b, l, h, d) in fp16/bf16; window -1 = global."""
    fa: Any = importlib.import_module("flash_attn")
    return fa.flash_attn_func(q, k, v, causal=True, window_size=(window, 0) if window >= 0 else (-1, -1))
