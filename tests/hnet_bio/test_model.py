"""Whole-model properties: reference key layout, causality, padding invariance, gradient flow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from hnet_bio import HNetConfig, HNetLM, IsotropicLM, build_model
from tests.paths import REFERENCE

REFERENCE_CONFIGS = sorted(p.stem for p in REFERENCE.glob("*.json"))
TINY = ["tiny-1stage", "tiny-2stage"]


def _reference_keys(name: str) -> dict[str, list[int]]:
    keys = {}
    for line in (REFERENCE / f"{name}.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape = line.split("\t")
            keys[key] = ast.literal_eval(shape)
    return keys


def test_six_reference_configs_present() -> None:
    assert len(REFERENCE_CONFIGS) == 6


@pytest.mark.parametrize("name", REFERENCE_CONFIGS)
def test_reference_config_builds_exact_state_dict_keys_and_shapes(name: str) -> None:
    config = HNetConfig.from_json(REFERENCE / f"{name}.json")
    with torch.device("meta"):
        model = build_model(config)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert ours == _reference_keys(name)
    header = (REFERENCE / f"{name}.txt").read_text().splitlines()[0]
    assert f"{model.num_parameters()} params" in header


def _model(name: str, configs_dir: Path) -> HNetLM | IsotropicLM:
    model = build_model(HNetConfig.from_json(configs_dir / f"{name}.json")).double()
    return model.eval()


@pytest.mark.parametrize("name", [*TINY, "tiny-isotropic"])
def test_causality(name: str, configs_dir: Path) -> None:
    model = _model(name, configs_dir)
    x = torch.randint(0, 256, (2, 80))
    base = model(x).logits
    for t in (0, 17, 41, 79):
        y = x.clone()
        y[:, t] = (y[:, t] + 101) % 256
        out = model(y).logits
        torch.testing.assert_close(out[:, :t], base[:, :t], rtol=1e-12, atol=1e-12)
        assert not torch.allclose(out[:, t:], base[:, t:])


@pytest.mark.parametrize("name", [*TINY, "tiny-isotropic"])
def test_right_padding_matches_each_sequence_alone(name: str, configs_dir: Path) -> None:
    model = _model(name, configs_dir)
    lengths = [70, 33, 51]
    seqs = [torch.randint(0, 256, (n,)) for n in lengths]
    batch = torch.zeros(3, 70, dtype=torch.long)
    mask = torch.zeros(3, 70, dtype=torch.bool)
    for i, s in enumerate(seqs):
        batch[i, : len(s)] = s
        batch[i, len(s) :] = torch.randint(0, 256, (70 - len(s),))  # garbage in the padding
        mask[i, : len(s)] = True
    out = model(batch, mask=mask)
    for i, s in enumerate(seqs):
        alone = model(s[None])
        torch.testing.assert_close(out.logits[i, : len(s)], alone.logits[0], rtol=1e-10, atol=1e-10)
        for stage_b, stage_a in zip(out.stages[:1], alone.stages[:1]):
            assert torch.equal(stage_b.boundary_mask[i, : len(s)], stage_a.boundary_mask[0])
            assert not stage_b.boundary_mask[i, len(s) :].any()
            assert int(stage_b.chunk_count[i]) == int(stage_a.chunk_count[0])


def test_loss_ignores_padding(configs_dir: Path) -> None:
    model = _model("tiny-1stage", configs_dir)
    x = torch.randint(0, 256, (1, 40))
    a = model(x[:, :-1], targets=x[:, 1:])
    full = torch.cat([x, torch.randint(0, 256, (1, 10))], 1)
    m = torch.ones(1, 50, dtype=torch.bool)
    m[0, 39:] = False
    b = model(full[:, :-1], mask=m[:, :-1], targets=full[:, 1:])
    torch.testing.assert_close(a.ce_loss, b.ce_loss, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(a.ratio_loss, b.ratio_loss, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", TINY)
def test_gradients_reach_every_parameter(name: str, configs_dir: Path) -> None:
    model = build_model(HNetConfig.from_json(configs_dir / f"{name}.json"))
    x = torch.randint(0, 256, (2, 129))
    out = model(x[:, :-1], targets=x[:, 1:])
    out.loss.backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().max() == 0]
    assert dead == []
    routers = [n for n, _ in model.named_parameters() if "routing_module" in n]
    assert len(routers) == 2 * model.config.num_stages


def test_outputs_expose_every_stage(configs_dir: Path) -> None:
    model = _model("tiny-2stage", configs_dir)
    x = torch.randint(0, 256, (2, 64))
    out = model(x, targets=x)
    assert out.logits.shape == (2, 64, 256)
    assert len(out.stages) == 2 and len(out.ratio_losses) == 2
    s0, s1 = out.stages
    assert s0.boundary_prob.shape == (2, 64) and s0.hidden_states.shape == (2, 64, 32)
    assert s1.boundary_prob.shape[1] == s0.chunk_count.max()  # stage 1 runs on stage-0 chunks
    assert s1.hidden_states.shape[-1] == 48 and out.inner.hidden_states.shape[-1] == 64
    assert torch.equal(s1.mask, s0.chunk_mask)
    assert (s0.boundary_prob[:, 0] == 1).all() and s0.boundary_mask[:, 0].all()
    assert out.bits_per_byte.item() == pytest.approx(out.ce_loss.item() / 0.6931471805599453)
    assert out.compression[0] == pytest.approx(128 / float(s0.chunk_count.sum()))


def test_isotropic_and_hnet_share_interface(configs_dir: Path) -> None:
    iso = _model("tiny-isotropic", configs_dir)
    assert isinstance(iso, IsotropicLM)
    x = torch.randint(0, 256, (2, 30))
    out = iso(x[:, :-1], targets=x[:, 1:])
    assert out.stages == [] and out.ratio_loss.item() == 0.0
    assert out.loss.item() == out.ce_loss.item()
    with pytest.raises(ValueError, match="hierarchical"):
        HNetLM(iso.config)


def test_bad_mask_is_rejected(configs_dir: Path) -> None:
    model = _model("tiny-1stage", configs_dir)
    x = torch.randint(0, 256, (1, 10))
    with pytest.raises(ValueError, match="right padding"):
        model(x, mask=torch.tensor([[False] + [True] * 9]))
    with pytest.raises(ValueError, match="prefix"):
        model(x, mask=torch.tensor([[True, True, False, True] + [True] * 6]))
