"""Approximate FLOPs per byte, for throughput and MFU reporting (nanoGPT-style accounting)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from torch import nn

from hnet_bio.config import HNetConfig
from hnet_bio.hnet import HNet
from hnet_bio.layers.attention import CausalMHA
from hnet_bio.layers.block import Isotropic


class ByteModel(Protocol):
    """What the count reads of a model: `HNetLM` and `IsotropicLM` (lm.py, which imports this file)."""

    @property
    def config(self) -> HNetConfig: ...

    @property
    def lm_head(self) -> nn.Linear: ...

    @property
    def backbone(self) -> HNet | Isotropic: ...


def _level_params(module: nn.Module, skip: nn.Module | None = None) -> int:
    """Matmul weights (>= 2-D) of `module`, excluding those inside `skip` (a nested level)."""
    skip_ids = {id(p) for p in skip.parameters()} if skip is not None else set()
    return sum(p.numel() for p in module.parameters() if p.dim() >= 2 and id(p) not in skip_ids)


def _attention_flops(module: nn.Module, seq_len: float, skip: nn.Module | None = None) -> float:
    skip_mods = {id(m) for m in skip.modules()} if skip is not None else set()
    total = 0.0
    for m in module.modules():
        if isinstance(m, CausalMHA) and id(m) not in skip_mods:
            keys = seq_len / 2 if m.window_size < 0 else min(seq_len / 2, m.window_size + 1)
            total += 4 * m.d_model * keys  # QK^T and AV per query position
    return total


def flops_per_byte(model: ByteModel, seq_len: int, training: bool = True,
                   ratios: Sequence[float] | None = None) -> float:
    """FLOPs per byte; ``ratios`` (positions per chunk per stage, e.g. a run's measured compression)
    replace the config's target ratios, so "matched in FLOPs" can be checked at what was reached."""
    config = model.config
    ratios = list(ratios) if ratios is not None else config.target_ratios()
    total = 2.0 * model.lm_head.weight.numel()  # lm_head; the embedding is a lookup
    backbone: HNet | Isotropic = model.backbone
    level, fraction = 0, 1.0
    while True:
        inner = backbone.main_network if isinstance(backbone, HNet) and not backbone.is_innermost else None
        length = seq_len * fraction
        total += fraction * (2.0 * _level_params(backbone, inner) + _attention_flops(backbone, length, inner))
        if inner is None:
            break
        fraction /= ratios[level]
        level += 1
        backbone = inner
    return total * (3.0 if training else 1.0)  # backward costs about twice the forward
