"""Optimizer parameter groups: per-level LR multipliers and weight-decay exclusions.

Each parameter belongs to the level of the H-Net that owns it (embeddings and lm_head to level 0;
a nested H-Net's parameters to its level). Parameters with fewer than two dimensions (norm
weights, biases, dt_bias, A_log, D, pad_dimension) get no weight decay; the reference's rule only
caught names containing ".norm." and we fix that deliberately.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from hnet_bio.hnet import HNet
from hnet_bio.lm import HNetLM, IsotropicLM


def parameter_levels(model: nn.Module) -> dict[str, int]:
    """Map each parameter name to its hierarchy level (0 = bytes)."""
    levels: dict[str, int] = {name: 0 for name, _ in model.named_parameters()}
    backbone = getattr(model, "backbone", None)
    level, prefix = 0, "backbone."
    while isinstance(backbone, HNet):
        for name, _ in backbone.named_parameters():
            levels[prefix + name] = level
        if backbone.is_innermost:
            break
        backbone = backbone.main_network
        level += 1
        prefix += "main_network."
    # The innermost Isotropic is owned by the innermost HNet, already tagged with its level.
    return levels


def no_decay(name: str, param: nn.Parameter) -> bool:
    return param.dim() < 2


def param_groups(model: HNetLM | IsotropicLM, weight_decay: float = 0.1) -> list[dict[str, Any]]:
    """AdamW groups keyed by (level, decay). Each has `lr_multiplier`; the training loop sets
    group["lr"] = base_lr * schedule(step) * group["lr_multiplier"]."""
    multipliers = model.config.lr_multipliers()
    levels = parameter_levels(model)
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    seen: set[int] = set()
    for name, param in model.named_parameters():
        if not param.requires_grad or id(param) in seen:  # tied weights appear once
            continue
        seen.add(id(param))
        level = levels[name]
        decay = not no_decay(name, param)
        key = (level, decay)
        if key not in groups:
            groups[key] = {
                "params": [],
                "names": [],
                "weight_decay": weight_decay if decay else 0.0,
                "lr_multiplier": multipliers[level],
                "name": f"level{level}.{'decay' if decay else 'no_decay'}",
            }
        groups[key]["params"].append(param)
        groups[key]["names"].append(name)
    return [groups[k] for k in sorted(groups)]
