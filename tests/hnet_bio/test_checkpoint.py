"""Our checkpoint directories: save_pretrained / load_pretrained round trips, metadata, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hnet_bio import CheckpointError, HNetConfig, HNetLM, IsotropicLM, build_model
from hnet_bio.checkpoint import load_pretrained, read_metadata, save_pretrained
from hnet_bio.metadata import CheckpointMetadata
from tests.paths import CONFIGS


def perturbed(name: str) -> HNetLM | IsotropicLM:
    torch.manual_seed(0)
    model = build_model(HNetConfig.from_json(CONFIGS / f"{name}.json"))
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if any(s in pname for s in ("residual_proj", "pad_dimension", "norm")):
                p.add_(0.2 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("name", ["tiny-1stage", "tiny-2stage", "tiny-isotropic"])
def test_round_trip_gives_identical_logits(tmp_path: Path, name: str) -> None:
    model = perturbed(name)
    meta = CheckpointMetadata(modality="dna", byte_convention="ascii-upper", train_bytes=12345)
    save_pretrained(model, tmp_path / "ckpt", metadata=meta)
    loaded, _ = load_pretrained(tmp_path / "ckpt", expected_class=type(model))
    assert type(loaded) is type(model)
    ids = torch.randint(0, 256, (2, 33))
    with torch.no_grad():
        assert torch.equal(loaded.eval()(ids).logits, model(ids).logits)
    got = read_metadata(tmp_path / "ckpt")
    assert got == CheckpointMetadata(model_class=type(model).__name__, modality="dna",
                                     byte_convention="ascii-upper", train_bytes=12345)
    assert json.loads((tmp_path / "ckpt" / "metadata.json").read_text()) == {
        "model_class": type(model).__name__, "modality": "dna", "byte_convention": "ascii-upper",
        "train_bytes": 12345}
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == ["config.json", "metadata.json", "model.safetensors"]


def test_bfloat16_load_keeps_fp32_residual(tmp_path: Path) -> None:
    audio = CheckpointMetadata(modality="audio", sample_rate=8000)
    save_pretrained(perturbed("tiny-2stage"), tmp_path, audio)
    model, meta = load_pretrained(tmp_path, dtype=torch.bfloat16)
    assert (meta.modality, meta.sample_rate) == ("audio", 8000)
    assert model.embeddings.weight.dtype == torch.bfloat16
    assert model.backbone.residual_proj.weight.dtype == torch.float32
    assert torch.isfinite(model(torch.randint(0, 256, (1, 12))).logits).all()


def test_broken_directories_fail_with_one_line(tmp_path: Path) -> None:
    save_pretrained(perturbed("tiny-1stage"), tmp_path / "ok")
    weights = tmp_path / "ok" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    for path in (tmp_path / "ok", tmp_path / "absent"):
        with pytest.raises(CheckpointError) as info:
            load_pretrained(path)
        assert "\n" not in str(info.value)
    cfg = json.loads((tmp_path / "ok" / "config.json").read_text())
    cfg["d_model"][1] = 64
    save_pretrained(perturbed("tiny-1stage"), tmp_path / "shape")
    (tmp_path / "shape" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="shape"):
        load_pretrained(tmp_path / "shape")


def test_load_pretrained_refuses_the_other_model_class(tmp_path: Path) -> None:
    save_pretrained(perturbed("tiny-isotropic"), tmp_path / "iso")
    with pytest.raises(CheckpointError, match="holds a IsotropicLM, not a HNetLM"):
        load_pretrained(tmp_path / "iso", expected_class=HNetLM)
