"""Initialisation follows the reference: identity router, zero residual weight, scaled out_proj."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from hnet_bio import HNetConfig, build_model
from hnet_bio.init import init_hnet


def test_special_parameters_keep_their_init(configs_dir: Path) -> None:
    model = build_model(HNetConfig.from_json(configs_dir / "tiny-2stage.json"))
    for prefix in ("backbone", "backbone.main_network"):
        router = model.get_submodule(f"{prefix}.routing_module")
        d = router.q_proj_layer.weight.shape[0]
        assert torch.equal(router.q_proj_layer.weight, torch.eye(d))
        assert torch.equal(router.k_proj_layer.weight, torch.eye(d))
        assert torch.equal(model.get_submodule(f"{prefix}.residual_proj").weight, torch.zeros(d, d))
    assert torch.equal(model.backbone.main_network.pad_dimension, torch.zeros(16))
    assert model.embeddings.weight.std().item() > 0.8  # N(0, 1)
    mixer = model.backbone.encoder.layers[0].mixer
    assert torch.equal(mixer.D, torch.ones_like(mixer.D))
    a = torch.exp(mixer.A_log)
    assert ((a >= 1) & (a <= 16)).all()
    dt = torch.nn.functional.softplus(mixer.dt_bias)
    assert ((dt >= 1e-4 - 1e-9) & (dt <= 0.1 + 1e-6)).all()


def test_residual_writing_projections_scale_with_depth() -> None:
    # A wide enough config that sample standard deviations are within a few percent.
    config = HNetConfig.from_dict(
        {
            "arch_layout": ["m2", ["T1m1", ["T3"], "m1T1"], "m2"],
            "d_model": [256, 256, 384],
            "d_intermediate": [0, 512, 768],
            "ssm_cfg": {"d_state": 16, "chunk_size": 32},
            "attn_cfg": {"num_heads": [4, 4, 4], "rotary_emb_dim": [16, 16, 16], "window_size": [-1, 7, -1]},
            "hnet_bio": {"ssm_headdim": 32},
        }
    )
    model = build_model(config)
    init_hnet(model.backbone)
    # n_res: level 0 = 2 + 2 = 4; level 1 = 4 + 3 + 3 = 10; level 2 = 10 + 6 = 16
    cases = {
        "backbone.encoder.layers.0.mixer.out_proj.weight": 0.02 / math.sqrt(4),
        "backbone.encoder.layers.0.mixer.in_proj.weight": 0.02,
        "backbone.main_network.encoder.layers.0.mixer.out_proj.weight": 0.02 / math.sqrt(10),
        "backbone.main_network.decoder.layers.1.mlp.fc2.weight": 0.02 / math.sqrt(10),
        "backbone.main_network.main_network.main_network.layers.2.mlp.fc2.weight": 0.02 / math.sqrt(16),
        "backbone.main_network.main_network.main_network.layers.2.mixer.Wqkv.weight": 0.02,
        "lm_head.weight": 0.02,
    }
    params = dict(model.named_parameters())
    for name, std in cases.items():
        assert abs(params[name].std().item() / std - 1) < 0.05, name
