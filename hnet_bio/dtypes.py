"""Precision policy: math that the reference does in float32 is done in at least float32.

`wide(x)` upcasts half/bfloat16 to float32 but leaves float64 alone, so the float64 test path
compares against independent truth at full precision. `cast_model` is the parameter-side rule:
the released H-Net runs in bfloat16 except `residual_proj.*` and Mamba's `mixer.D`, which stay
float32; we do the same for any half dtype, and cast everything for float32/64.
"""

from __future__ import annotations

import re
from typing import TypeVar

import torch

M = TypeVar("M", bound=torch.nn.Module)

FP32_KEEP = re.compile(r"(^|\.)residual_proj\.|(^|\.)mixer\.D$")  # params kept in fp32 under half dtypes


def wide(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float64 else x.float()


def cast_model(model: M, dtype: torch.dtype) -> M:
    """Cast to `dtype` in place, keeping residual_proj and mixer.D in float32 when dtype is a half type.

    The kept parameters keep their exact float32 values (saved before the cast, not rounded to
    `dtype` and widened back), so a bf16 copy of a float32 model loses nothing in them.
    """
    keep: dict[str, torch.Tensor] = {}
    if dtype in (torch.bfloat16, torch.float16):
        keep = {name: param.data.float().clone() for name, param in model.named_parameters()
                if FP32_KEEP.search(name)}
    model.to(dtype)
    for name, param in model.named_parameters():
        if name in keep:
            param.data = keep[name].to(param.device)
    return model
