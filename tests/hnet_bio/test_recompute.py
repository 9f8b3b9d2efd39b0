"""Activation recomputation changes memory, not numbers: outputs and gradients equal without it."""

from __future__ import annotations

from pathlib import Path

import torch

from hnet_bio import HNetConfig, build_model
from hnet_bio.recompute import set_recompute


def test_recompute_gives_the_same_outputs_and_grads(configs_dir: Path) -> None:
    model = build_model(HNetConfig.from_json(configs_dir / "tiny-1stage.json")).double()
    x = torch.randint(0, 256, (2, 65))
    results = []
    for enabled in (False, True):
        assert set_recompute(model, enabled) == 6  # 4 Mamba-2 mixers + 2 inner SwiGLUs
        model.zero_grad()
        out = model(x[:, :-1], targets=x[:, 1:])
        out.loss.backward()
        results.append((out.logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=0, atol=0)
    for name, g in results[0][1].items():
        torch.testing.assert_close(results[1][1][name], g, rtol=1e-12, atol=1e-14, msg=name)
