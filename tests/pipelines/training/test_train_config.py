"""Recipes: loading, type-checked dotted overrides, one-line errors that list the valid keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.training.train_config import (
    ConfigError,
    PretrainConfig,
    TrainConfig,
    apply_overrides,
    from_dict,
    parse_override_args,
    read_config,
)
from tests.paths import CONFIGS


def _recipe(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    (tmp_path / "tiny.json").write_text((CONFIGS / "tiny-1stage.json").read_text())
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_recipes_load() -> None:
    recipes = sorted((CONFIGS).glob("pretrain-*.yaml"))
    assert recipes, "no pretrain recipes under configs/"
    for path in recipes:
        cfg = read_config(path)
        assert "arch_layout" in cfg.model


def test_model_path_relative_to_recipe_and_overrides(tmp_path: Path) -> None:
    p = _recipe(tmp_path, "model: tiny.json\ntrain:\n  lr: 3e-3\n  betas: [0.9, 0.99]\n")
    assert read_config(p, {"train.byte_budget": "2e6"}).train.byte_budget == 2_000_000
    cfg = read_config(p, {"train.max_steps": "7", "train.lr": "1e-3", "train.target_ratio": "[2.5]",
                          "train.grad_clip": "none", "train.rc_augment": "true", "data.corpus": "a.fa,b.fa"})
    assert cfg.train.lr == 1e-3 and isinstance(cfg.train.lr, float)  # YAML's "3e-3" is a string: parsed
    assert cfg.train.max_steps == 7 and cfg.train.betas == (0.9, 0.99)
    assert cfg.train.grad_clip is None and cfg.train.rc_augment is True
    assert cfg.data.corpus == "a.fa,b.fa"
    assert cfg.model_config_dict()["hnet_bio"]["target_ratio"] == [2.5]
    assert cfg.model["hnet_bio"]["target_ratio"] == [3.0]  # the override does not mutate the source


def test_model_only_file_is_a_recipe_with_defaults() -> None:
    cfg = read_config(CONFIGS / "tiny-isotropic.json")
    assert cfg.train == TrainConfig()


def test_unknown_keys_list_valid_ones(tmp_path: Path) -> None:
    p = _recipe(tmp_path, "model: tiny.json\ntrain:\n  lrr: 1\n")
    with pytest.raises(ConfigError) as err:
        read_config(p)
    msg = str(err.value)
    assert "train.lrr" in msg and "train.lr," in msg and "\n" not in msg
    with pytest.raises(ConfigError, match=r"valid keys: .*train\.seq_len"):
        apply_overrides(read_config(_recipe(tmp_path, "model: tiny.json\n", "ok.yaml")), {"train.nope": 1})
    with pytest.raises(ConfigError, match="unknown section"):
        read_config(_recipe(tmp_path, "model: tiny.json\ntrian: {}\n", "s.yaml"))


@pytest.mark.parametrize(("key", "value"), [
    ("train.lr", "fast"), ("train.max_steps", "1.5"), ("train.precision", "fp16"), ("train.betas", "[0.9]"),
    ("train.rc_augment", "maybe"), ("train.seq_len", "0"), ("train.lr", "nan"), ("data.eval_fraction", "1.5"),
])
def test_bad_values_are_one_line_errors(tmp_path: Path, key: str, value: str) -> None:
    cfg = read_config(_recipe(tmp_path, "model: tiny.json\n"))
    with pytest.raises(ConfigError) as err:
        apply_overrides(cfg, {key: value})
    assert "\n" not in str(err.value)


def test_missing_files_and_bad_syntax(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        read_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="model config not found"):
        read_config(_recipe(tmp_path, "model: nowhere.json\n"))
    with pytest.raises(ConfigError, match="cannot parse"):
        read_config(_recipe(tmp_path, "model: [unclosed\n", "bad.yaml"))


def test_round_trip_through_json(tmp_path: Path) -> None:
    cfg = read_config(_recipe(tmp_path, "model: tiny.json\ntrain: {lr: 0.004, lr_multiplier: [2.0, 1.0]}\n"))
    back = from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert isinstance(back, PretrainConfig) and back == cfg


def test_parse_override_args() -> None:
    assert parse_override_args(["--train.lr", "3e-3", "--data.corpus=x.fa"]) == {
        "train.lr": "3e-3", "data.corpus": "x.fa"}
    with pytest.raises(ConfigError):
        parse_override_args(["--train.lr"])
