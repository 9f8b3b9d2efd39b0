"""torch.compile of the byte-level layers: same numbers as eager, same state_dict, and undoable."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from hnet_bio import HNetConfig, build_model
from hnet_bio.compilation import byte_level_isotropics, compile_byte_level, uncompile


def test_compiled_byte_level_matches_eager(configs_dir: Path) -> None:
    eager = build_model(HNetConfig.from_json(configs_dir / "tiny-1stage.json"))
    compiled = copy.deepcopy(eager)
    assert compile_byte_level(compiled) == 4  # m2 encoder + m2 decoder mixers (no MLPs at level 0)
    assert compiled.state_dict().keys() == eager.state_dict().keys()  # checkpoints are unaffected
    x = torch.randint(0, 256, (2, 65))
    grads = []
    for model in (eager, compiled):
        out = model(x[:, :-1], targets=x[:, 1:])
        out.loss.backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
        if model is eager:
            reference = out
    torch.testing.assert_close(out.logits, reference.logits, rtol=1e-4, atol=1e-4)
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, rtol=1e-3, atol=1e-5, msg=name)
    uncompile(compiled)
    assert all(getattr(m, "_compiled_call_impl", None) is None for m in compiled.modules())


def test_byte_level_stacks(configs_dir: Path) -> None:
    hnet = build_model(HNetConfig.from_json(configs_dir / "tiny-2stage.json"))
    assert byte_level_isotropics(hnet) == [hnet.backbone.encoder, hnet.backbone.decoder]
    iso = build_model(HNetConfig.from_json(configs_dir / "tiny-isotropic.json"))
    assert byte_level_isotropics(iso) == [iso.backbone]
