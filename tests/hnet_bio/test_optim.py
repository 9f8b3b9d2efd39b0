"""Parameter groups: per-level LR multipliers and weight-decay exclusions."""

from __future__ import annotations

from pathlib import Path

from hnet_bio import HNetConfig, build_model
from hnet_bio.optim import param_groups, parameter_levels


def test_levels_follow_the_hierarchy(configs_dir: Path) -> None:
    model = build_model(HNetConfig.from_json(configs_dir / "tiny-2stage.json"))
    levels = parameter_levels(model)
    assert levels["embeddings.weight"] == 0 and levels["lm_head.weight"] == 0
    assert levels["backbone.encoder.layers.0.mixer.in_proj.weight"] == 0
    assert levels["backbone.routing_module.q_proj_layer.weight"] == 0
    assert levels["backbone.main_network.pad_dimension"] == 1
    assert levels["backbone.main_network.encoder.layers.0.mixer.Wqkv.weight"] == 1
    assert levels["backbone.main_network.residual_proj.weight"] == 1
    assert levels["backbone.main_network.main_network.main_network.layers.1.mlp.fc2.weight"] == 2


def test_groups_cover_every_parameter_once_with_multipliers_and_decay(configs_dir: Path) -> None:
    model = build_model(HNetConfig.from_json(configs_dir / "tiny-2stage.json"))
    groups = param_groups(model, weight_decay=0.1)
    names = [n for g in groups for n in g["names"]]
    assert sorted(names) == sorted(n for n, _ in model.named_parameters())
    multipliers = {2.0, 1.5, 1.0}
    assert {g["lr_multiplier"] for g in groups} == multipliers
    by_name = {n: g for g in groups for n in g["names"]}
    for name in (
        "backbone.encoder.layers.0.norm1.weight",
        "backbone.encoder.rmsnorm.weight",
        "backbone.encoder.layers.0.mixer.dt_bias",
        "backbone.encoder.layers.0.mixer.A_log",
        "backbone.encoder.layers.0.mixer.D",
        "backbone.encoder.layers.0.mixer.conv1d.bias",
        "backbone.residual_proj.bias",
        "backbone.main_network.pad_dimension",
    ):
        assert by_name[name]["weight_decay"] == 0.0, name
    assert by_name["backbone.encoder.layers.0.mixer.in_proj.weight"]["weight_decay"] == 0.1
    innermost = "backbone.main_network.main_network.main_network"
    assert by_name[f"{innermost}.layers.0.mlp.fc1.weight"]["lr_multiplier"] == 1.0
    assert by_name["backbone.main_network.encoder.layers.0.mixer.Wqkv.weight"]["lr_multiplier"] == 1.5
