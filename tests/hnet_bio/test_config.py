"""Config JSON: reference files load unchanged, our section round-trips, bad configs fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hnet_bio import ConfigError, HNetConfig
from tests.paths import REFERENCE


@pytest.mark.parametrize("path", sorted(REFERENCE.glob("*.json")), ids=lambda p: p.stem)
def test_reference_json_loads_unchanged(path: Path) -> None:
    raw = json.loads(path.read_text())
    config = HNetConfig.from_json(path)
    assert config.to_dict(reference_only=True) == raw  # nothing added, nothing lost
    assert config.hnet_bio.ssm_headdim == 64  # the reference's fixed Mamba head size
    assert config.target_ratios() == ([6.0] if config.num_stages == 1 else [3.0, 3.0])


def test_our_section_round_trips(tmp_path: Path, configs_dir: Path) -> None:
    config = HNetConfig.from_json(configs_dir / "tiny-2stage.json")
    config.save(tmp_path / "c.json")
    again = HNetConfig.from_json(tmp_path / "c.json")
    assert again == config
    assert again.num_levels == 3 and again.num_stages == 2 and again.lr_multipliers() == [2.0, 1.5, 1.0]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"colour": 1}, "unknown key"),
        ({"ssm_cfg": {"d_state": 16, "chunky": 3}}, "unknown key"),
        ({"d_model": [32]}, "d_model has 1 entries"),
        ({"arch_layout": ["m2", ["X2"], "m2"]}, "expected letters m/M/t/T"),
        ({"arch_layout": ["m2", "T2", "m2"]}, "arch_layout"),
        ({"d_model": [48, 32]}, "must not shrink"),
        ({"hnet_bio": {"target_ratio": [1.0]}}, "must be > 1"),
        ({"hnet_bio": {"lr_multiplier": [1.0]}}, "lr_multiplier needs 2"),
        (
            {"attn_cfg": {"num_heads": [2, 5], "rotary_emb_dim": [8, 12], "window_size": [-1, -1]}},
            "divisible",
        ),
    ],
)
def test_bad_configs_fail_with_one_clear_line(
    tmp_path: Path, configs_dir: Path, patch: dict, message: str
) -> None:
    data = json.loads((configs_dir / "tiny-1stage.json").read_text())
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict) and key != "attn_cfg":
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=message) as info:
        HNetConfig.from_json(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        HNetConfig.from_json(path)
