"""load_reference: reference-schema configs + `.pt` state_dicts in the reference's exact key layout.

The expected key list is derived here from REFERENCE.md section e (the documented naming rules),
independently of the model code, and the model's state_dict must match it key for key.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

from hnet_bio import CheckpointError, HNetConfig, HNetLM, load_reference
from hnet_bio.layers.block import parse_layout
from tests.paths import REFERENCE

ONE_STAGE = {
    "arch_layout": ["m2", ["T2"], "m2"],
    "d_model": [64, 96],
    "d_intermediate": [0, 160],
    "vocab_size": 256,
    "ssm_cfg": {"chunk_size": 16, "d_conv": 4, "d_state": 16, "expand": 2},
    "attn_cfg": {"num_heads": [4, 4], "rotary_emb_dim": [8, 12], "window_size": [1023, -1]},
    "tie_embeddings": False,
}
TWO_STAGE = {
    "arch_layout": ["m1", ["T1m1", ["T2"], "m1T1"], "m1"],
    "d_model": [64, 64, 96],
    "d_intermediate": [0, 128, 200],
    "vocab_size": 256,
    "ssm_cfg": {"chunk_size": 16, "d_conv": 4, "d_state": 16, "expand": 2},
    "attn_cfg": {"num_heads": [4, 4, 4], "rotary_emb_dim": [8, 8, 12], "window_size": [1023, 7, -1]},
    "tie_embeddings": False,
}
HEADDIM = 64  # fixed in the reference (not settable from JSON)



def reference_keys(cfg: dict) -> dict[str, tuple[int, ...]]:
    """Every key and shape the reference module tree has, from the naming rules of REFERENCE.md e."""
    keys: dict[str, tuple[int, ...]] = {}
    d0, n_state, d_conv = cfg["d_model"][0], cfg["ssm_cfg"]["d_state"], cfg["ssm_cfg"]["d_conv"]
    keys["embeddings.weight"] = (256, d0)
    keys["lm_head.weight"] = (256, d0)

    def isotropic(prefix: str, layout: str, level: int) -> None:
        d = cfg["d_model"][level]
        d_ff = math.ceil(cfg["d_intermediate"][level] / 128) * 128
        di = cfg["ssm_cfg"]["expand"] * d
        nh = di // HEADDIM
        for i, kind in enumerate(parse_layout(layout)):
            p = f"{prefix}.layers.{i}"
            keys[f"{p}.norm1.weight"] = (d,)
            if kind in "mM":
                keys.update({f"{p}.mixer.dt_bias": (nh,), f"{p}.mixer.A_log": (nh,), f"{p}.mixer.D": (nh,),
                             f"{p}.mixer.in_proj.weight": (2 * di + 2 * n_state + nh, d),
                             f"{p}.mixer.conv1d.weight": (di + 2 * n_state, 1, d_conv),
                             f"{p}.mixer.conv1d.bias": (di + 2 * n_state,),
                             f"{p}.mixer.norm.weight": (di,), f"{p}.mixer.out_proj.weight": (d, di)})
            else:
                keys.update({f"{p}.mixer.Wqkv.weight": (3 * d, d), f"{p}.mixer.out_proj.weight": (d, d)})
            if kind in "MT":
                keys.update({f"{p}.norm2.weight": (d,), f"{p}.mlp.fc1.weight": (2 * d_ff, d),
                             f"{p}.mlp.fc2.weight": (d, d_ff)})
        keys[f"{prefix}.rmsnorm.weight"] = (d,)

    node, prefix, level = cfg["arch_layout"], "backbone", 0
    while True:
        d = cfg["d_model"][level]
        if level > 0 and d > cfg["d_model"][level - 1]:
            keys[f"{prefix}.pad_dimension"] = (d - cfg["d_model"][level - 1],)
        if len(node) == 1:
            isotropic(f"{prefix}.main_network", node[0], level)
            return keys
        isotropic(f"{prefix}.encoder", node[0], level)
        isotropic(f"{prefix}.decoder", node[2], level)
        for name in ("routing_module.q_proj_layer.weight", "routing_module.k_proj_layer.weight",
                     "residual_proj.weight"):
            keys[f"{prefix}.{name}"] = (d, d)
        keys[f"{prefix}.residual_proj.bias"] = (d,)
        node, prefix, level = node[1], f"{prefix}.main_network", level + 1


def source_model(cfg: dict) -> HNetLM:
    torch.manual_seed(0)
    model = HNetLM(HNetConfig.from_dict(cfg))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if any(s in name for s in ("residual_proj", "pad_dimension", "norm")):
                p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def write(tmp: Path, cfg: dict, obj: object, name: str = "model.pt") -> tuple[Path, Path]:
    (tmp / "config.json").write_text(json.dumps(cfg))
    torch.save(obj, tmp / name)
    return tmp / "config.json", tmp / name


@pytest.mark.parametrize("cfg", [ONE_STAGE, TWO_STAGE], ids=["1stage", "2stage"])
def test_model_keys_match_reference_layout(cfg: dict) -> None:
    ours = {k: tuple(v.shape) for k, v in HNetLM(HNetConfig.from_dict(cfg)).state_dict().items()}
    assert ours == reference_keys(cfg)


@pytest.mark.parametrize("name", ["hnet_1stage_L", "hnet_2stage_XL"])
def test_key_rules_match_released_key_lists(name: str) -> None:
    """The rules above reproduce the key lists shipped with the reference digest (tests/data/reference)."""
    ref = REFERENCE
    cfg = json.loads((ref / f"{name}.json").read_text())
    listed = {}
    for line in (ref / f"{name}.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, shape = line.split("\t")
            listed[key] = tuple(json.loads(shape))
    assert reference_keys(cfg) == listed


@pytest.mark.parametrize("cfg", [ONE_STAGE, TWO_STAGE], ids=["1stage", "2stage"])
def test_load_reference_plain_and_nested(tmp_path: Path, cfg: dict) -> None:
    src = source_model(cfg)
    ids = torch.randint(0, 256, (2, 40))
    with torch.no_grad():
        expected = src(ids).logits
    state = {k: v.clone() for k, v in src.state_dict().items()}
    for obj in (state, {"model": state}, {"state_dict": state, "step": 3}):
        config, weights = write(tmp_path, cfg, obj)
        model = load_reference(config, weights)
        with torch.no_grad():
            assert torch.equal(model(ids).logits, expected)


def _hide_omegaconf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import omegaconf...` fail, as on a machine without it (None in sys.modules blocks import)."""
    for name in [m for m in sys.modules if m == "omegaconf" or m.startswith("omegaconf.")]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("omegaconf", "omegaconf.listconfig", "omegaconf.dictconfig", "omegaconf.base",
                 "omegaconf.nodes"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("installed", [True, False], ids=["omegaconf-installed", "omegaconf-absent"])
@pytest.mark.parametrize("layout", ["bare", "nested"])
def test_load_reference_with_real_omegaconf_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, installed: bool
) -> None:
    """Pickles holding objects made by the real omegaconf package (ListConfig, DictConfig: their
    metadata pickles a collections.defaultdict and typing.Any) load safely, with omegaconf
    importable or not, whether they sit in a bare state_dict or beside a nested one."""
    omegaconf = pytest.importorskip(
        "omegaconf", reason="omegaconf is optional (the dev extra installs it): pip install -e .[dev]")
    src = source_model(ONE_STAGE)
    state = {k: v.clone() for k, v in src.state_dict().items()}
    cfg = omegaconf.OmegaConf.create({"d_model": [64, 96], "ssm": {"d_state": 16}, "name": "hnet", "x": None})
    layers = omegaconf.OmegaConf.create(["m2", ["T2"], "m2"])
    if layout == "bare":
        obj: dict = {**state, "config": cfg, "arch_layout": layers}
    else:
        obj = {"model": state, "config": cfg, "arch_layout": layers, "step": 7}
    config, weights = write(tmp_path, ONE_STAGE, obj)
    if not installed:
        _hide_omegaconf(monkeypatch)
    model = load_reference(config, weights)
    ids = torch.randint(0, 256, (1, 20))
    with torch.no_grad():
        assert torch.equal(model(ids).logits, src(ids).logits)
    if installed:  # the real classes were rebuilt, with their values
        from hnet_bio.reference import read_pickle_state

        back = read_pickle_state(weights)
        assert omegaconf.OmegaConf.to_container(back["config"]) == omegaconf.OmegaConf.to_container(cfg)
        assert list(back["arch_layout"]) == ["m2", ["T2"], "m2"]


def test_omegaconf_allowance_is_not_a_back_door(tmp_path: Path) -> None:
    """The allow-list added for omegaconf (defaultdict) does not let a callable through as its factory."""
    import collections
    import os as os_module

    state = source_model(ONE_STAGE).state_dict()
    config, weights = write(tmp_path, ONE_STAGE, {"model": state,
                                                  "flags": collections.defaultdict(os_module.getcwd)})
    assert "trust_pickle" in _one_line_error(config, weights)


def test_bfloat16_keeps_residual_and_D_in_float32(tmp_path: Path) -> None:
    src = source_model(TWO_STAGE)
    bf16 = {k: v.to(torch.bfloat16) for k, v in src.state_dict().items()}
    config, weights = write(tmp_path, TWO_STAGE, bf16)
    model = load_reference(config, weights, dtype=torch.bfloat16)
    for name, p in model.named_parameters():
        fp32 = "residual_proj" in name or name.endswith("mixer.D")
        assert p.dtype == (torch.float32 if fp32 else torch.bfloat16), name
    logits = model(torch.randint(0, 256, (1, 16))).logits
    assert torch.isfinite(logits).all()


def _one_line_error(config: Path, weights: Path, **kw) -> str:
    with pytest.raises(CheckpointError) as info:
        load_reference(config, weights, **kw)
    msg = str(info.value)
    assert "\n" not in msg and str(weights) in msg
    return msg


def test_strict_loading_errors(tmp_path: Path) -> None:
    state = source_model(ONE_STAGE).state_dict()
    missing = dict(state)
    missing.pop("backbone.routing_module.q_proj_layer.weight")
    assert "missing" in _one_line_error(*write(tmp_path, ONE_STAGE, missing))
    extra = {**state, "backbone.extra.weight": torch.zeros(2)}
    assert "unexpected" in _one_line_error(*write(tmp_path, ONE_STAGE, extra))
    shape = {**state, "lm_head.weight": torch.zeros(256, 63)}
    assert "shape" in _one_line_error(*write(tmp_path, ONE_STAGE, shape))


def test_unreadable_files(tmp_path: Path) -> None:
    config, weights = write(tmp_path, ONE_STAGE, source_model(ONE_STAGE).state_dict())
    data = weights.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    _one_line_error(config, truncated)
    text = tmp_path / "notes.pt"
    text.write_text("not a pickle at all\n")
    _one_line_error(config, text)
    _one_line_error(config, tmp_path / "absent.pt")


def test_foreign_globals_need_trust(tmp_path: Path) -> None:
    """Anything beyond tensors and omegaconf objects is refused unless trust_pickle=True."""
    state = source_model(ONE_STAGE).state_dict()
    when = __import__("datetime").date(2025, 7, 1)
    config, weights = write(tmp_path, ONE_STAGE, {"model": state, "when": when})
    assert "trust_pickle" in _one_line_error(config, weights)
    with pytest.warns(UserWarning, match="weights_only=False"):
        load_reference(config, weights, trust_pickle=True)
