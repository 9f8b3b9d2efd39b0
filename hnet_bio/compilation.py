"""Optional torch.compile of the layers whose sequence length is fixed: the byte-level ones.

Compiling a whole HNetLM fails on CPU (torch 2.14): the inner levels' length is the number of
chunks, a data-dependent value that changes every batch. The byte level (level 0 encoder and
decoder, or every layer of an IsotropicLM) always sees (B, L), and its Mamba-2 mixers are where
the pure path spends its time in elementwise, memory-bound work that inductor fuses well.
`nn.Module.compile` compiles in place, so state_dict keys and checkpoints are unchanged.
"""

from __future__ import annotations

from torch import nn

from hnet_bio.hnet import HNet
from hnet_bio.layers.block import Isotropic


def byte_level_isotropics(model: nn.Module) -> list[Isotropic]:
    """The Isotropic stacks that run at byte resolution."""
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, Isotropic):
        return [backbone]
    if isinstance(backbone, HNet):
        if isinstance(backbone.main_network, Isotropic):  # a one-level HNet: its stack is at bytes
            return [backbone.main_network]
        return [backbone.encoder, backbone.decoder]
    raise TypeError(f"expected an HNetLM or IsotropicLM, got {type(model).__name__}")


def compile_byte_level(model: nn.Module) -> int:
    """torch.compile every mixer and MLP at byte level, in place. Returns how many modules."""
    count = 0
    for iso in byte_level_isotropics(model):
        for block in iso.blocks:
            for module in (block.mixer, block.mlp):
                if module is not None:
                    module.compile()
                    count += 1
    return count


def uncompile(model: nn.Module) -> None:
    """Undo `compile_byte_level` (back to eager), e.g. after a failed first compiled step."""
    for module in model.modules():
        if getattr(module, "_compiled_call_impl", None) is not None:
            module._compiled_call_impl = None
