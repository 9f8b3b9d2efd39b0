"""Initialisation as the reference code does it (goombalab/hnet, `HNetForCausalLM.init_weights`).

Every Linear inside an encoder/decoder/main Isotropic gets N(0, 0.02), or N(0, 0.02/sqrt(n_res))
for the residual-writing projections (out_proj, fc2), where n_res is the number of residual
additions from the input down to that level: parents' + own encoder + decoder heights, plus the
main network's height at the innermost level. Router q/k (identity), the zero-weight residual
projection, Mamba's dt_bias/A_log/D/conv, norms (1) and pad_dimension (0) keep their own init.
"""

from __future__ import annotations

import math

from torch import nn

from hnet_bio.hnet import HNet
from hnet_bio.layers.block import Isotropic


def init_isotropic(module: Isotropic, n_res: int, std: float = 0.02) -> None:
    for name, sub in module.named_modules():
        if not isinstance(sub, nn.Linear) or getattr(sub.weight, "_no_reinit", False):
            continue
        scaled = "out_proj" in name or "fc2" in name
        nn.init.normal_(sub.weight, std=std / math.sqrt(n_res) if scaled else std)
        if sub.bias is not None:
            nn.init.zeros_(sub.bias)


def init_hnet(module: HNet, parent_height: int = 0, std: float = 0.02) -> None:
    if module.is_innermost:
        main = module.main_network
        assert isinstance(main, Isotropic)
        init_isotropic(main, max(1, parent_height + main.height), std)
        return
    n_res = parent_height + module.encoder.height + module.decoder.height
    init_isotropic(module.encoder, max(1, n_res), std)
    init_isotropic(module.decoder, max(1, n_res), std)
    assert isinstance(module.main_network, HNet)
    init_hnet(module.main_network, n_res, std)
