"""The shipped pretrained models: found by name, loaded as float32, and still as good as their cards say.

A change to the core that silently breaks trained models (a renamed parameter, a changed scan, a
routing bug) shows here: each shipped model is reloaded and its bits/byte on a fixed slice of
tests/data must equal, within TOL_BPB, the number `hnet-bio package` recorded beside the slice
(tests/data/shipped/NAME.json) when it measured the model. The registry tests run on models
written here, so they run whether or not the shipped models are installed.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch

import hnet_bio
from hnet_bio import HNetConfig, HNetLM, load_pretrained
from hnet_bio import shipped as registry
from hnet_bio.checkpoint import read_metadata, save_pretrained
from hnet_bio.dtypes import FP32_KEEP, cast_model
from hnet_bio.errors import CheckpointError
from pipelines.cli import main
from pipelines.packaging import measures as mm
from pipelines.packaging.card import render_card
from pipelines.packaging.card_facts import (
    AnchorFacts,
    CardFacts,
    EvaluationFacts,
    MeasuredSet,
    PackagedFacts,
    SliceRecord,
    TrainingFacts,
    WeightsFacts,
)
from tests.paths import CONFIGS, DATA

EXPECTED = DATA / "shipped"
SHIPPED = ("dna-bacteria-small", "audio-speech-small")

# bf16 weights run in float32: the only differences left between the packaging machine and this one
# are float32 summation orders (threads, BLAS), ~1e-6 bits/byte; 1e-3 catches any real change.
TOL_BPB = 1e-3
# Bytes per chunk counts boundaries; a rounding flip moves one of ~2,000 chunks on 8 kB (~0.002).
TOL_CHUNK = 0.02
# "Near the target": within a factor 1.5 of the recipe's target_ratio (the ratio loss pulls there).
TARGET_FACTOR = 1.5


def _tiny(path: Path, meta: dict, seed: int = 0) -> HNetLM:
    torch.manual_seed(seed)
    model = HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json"))
    save_pretrained(model, path, meta)
    return model


@pytest.fixture
def models_dir(tiny_checkpoints: Mapping[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models directory holding two tiny models, installed as the package's registry."""
    root = tmp_path / "models"
    shutil.copytree(tiny_checkpoints["dna-train-bytes-7"], root / "tiny-dna")
    shutil.copytree(tiny_checkpoints["audio"], root / "tiny-audio")
    (root / "not-a-model").mkdir()  # no weights: not listed
    shutil.copytree(root / "tiny-dna", root / ".tmp-tiny-dna-123")  # a packaging job's staging dir: hidden
    monkeypatch.setattr(registry, "MODELS_DIR", root)
    return root


# --------------------------------------------------------------------------- name resolution

def test_known_name_path_and_unknown_name(models_dir: Path, tmp_path: Path) -> None:
    assert registry.shipped_models() == ["tiny-audio", "tiny-dna"]
    by_name, meta = load_pretrained("tiny-dna")
    by_path, _ = load_pretrained(models_dir / "tiny-dna")
    assert meta.train_bytes == 7
    for a, b in zip(by_name.state_dict().values(), by_path.state_dict().values()):
        assert torch.equal(a, b)
    assert hnet_bio.load_pretrained is load_pretrained
    with pytest.raises(CheckpointError) as info:
        load_pretrained("tiny-rna")
    assert "tiny-rna" in str(info.value) and "tiny-audio, tiny-dna" in str(info.value)
    with pytest.raises(CheckpointError, match="shipped models: tiny-audio, tiny-dna"):
        load_pretrained(tmp_path / "no" / "such" / "dir")


def test_local_directory_wins_over_a_shipped_name(models_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    local = _tiny(tmp_path / "work" / "tiny-dna", {"modality": "dna"}, seed=1)
    monkeypatch.chdir(tmp_path / "work")
    model, meta = load_pretrained("tiny-dna")
    assert meta.train_bytes is None
    assert torch.equal(model.embeddings.weight, local.embeddings.weight)


def test_bf16_weights_load_as_float32(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json"))
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    save_pretrained(cast_model(model, torch.bfloat16), tmp_path / "m")
    loaded, _ = load_pretrained(tmp_path / "m")
    for name, value in loaded.state_dict().items():
        assert value.dtype == torch.float32, name
        want = reference[name] if FP32_KEEP.search(name) else reference[name].to(torch.bfloat16).float()
        assert torch.equal(value, want), name
    x = torch.randint(0, 256, (1, 33))
    assert torch.isfinite(loaded(x).logits).all()


def test_cli_accepts_a_name_and_lists_the_known_ones(models_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "g.fa"
    assert main(["generate", "--checkpoint", "tiny-dna", "--prompt", "ACGT", "--max-new-bytes", "5",
                 "--seed", "0", "--quiet", "--out", str(out)]) == 0
    assert out.read_text().startswith(">sample1")
    capsys.readouterr()
    assert main(["generate", "--checkpoint", "tiny-rna", "--prompt", "ACGT", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "shipped models: tiny-audio, tiny-dna" in err


# --------------------------------------------------------------------------- hnet-bio models

def _card_facts(name: str, bpb: float, chunks: list[float]) -> CardFacts:
    """Card facts as `hnet-bio package` writes them, with the numbers `hnet-bio models` shows."""
    anchors = AnchorFacts(markov_best_order=0, markov=2.0, markov_by_order=[2.0], xz=3.0, zstd=3.0)
    held = MeasuredSet(what="held out", corpus="dna-sample", split="eval", units=["u"], file=None, genus=None,
                       records=None, split_bytes=1, bits_per_byte=bpb, predicted_bytes=8, windows=1,
                       bytes_per_chunk=chunks, window_bytes=9, anchors=anchors)
    training = TrainingFacts(
        corpus="dna-sample", corpus_description="", corpus_package=None, unit_kind="genome files",
        split_units=1, split_names=["u"], split_bytes=1, epochs=1.0, stages=1, steps=9, max_steps=9,
        step_bytes=1, recipe="r", recipe_differences={}, command="c", sessions=1, wall_time_s=None,
        wall_time_note="", hardware="h", checkpoint_choice="last", source_checkpoint="s", target_ratio=[4.0])
    return CardFacts(name=name, parameters=123_456,
                     weights=WeightsFacts(file="f", bytes=1, sha256="0", dtype="d"), training=training,
                     evaluation=EvaluationFacts(rule="rule", held_out=held), regression_slice=None,
                     packaged=PackagedFacts(date="d", torch="t", hnet_bio="h", command="c"), limitations=[])


def _with_card_numbers(path: Path, bpb: float, chunks: list[float], train_bytes: int) -> None:
    meta = read_metadata(path).replace(train_bytes=train_bytes, step=9)
    facts = _card_facts(path.name, bpb, chunks)
    (path / "metadata.json").write_text(json.dumps(facts.metadata_json(meta)))


def test_models_lists_headline_numbers(models_dir: Path, capsys: pytest.CaptureFixture) -> None:
    _with_card_numbers(models_dir / "tiny-dna", 1.8765, [3.96], 11_468_800)
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("tiny-dna"))
    assert "1.8765" in row and "3.96" in row and "11.5 MB" in row and "0.12M" in row
    assert any(line.startswith("tiny-audio") for line in lines)
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tiny-dna"]["held_out_bpb"] == 1.8765 and rows["tiny-audio"]["held_out_bpb"] is None
    assert main(["models", "--card", "tiny-rna"]) == 2
    assert "shipped models: tiny-audio, tiny-dna" in capsys.readouterr().err


# --------------------------------------------------------------------------- the shipped models

def _expected(name: str) -> SliceRecord:
    if not (registry.MODELS_DIR / name).is_dir():
        pytest.skip(f"{name} is not installed in {registry.MODELS_DIR} (package it with hnet-bio package)")
    path = EXPECTED / f"{name}.json"
    assert path.is_file(), f"{name} is shipped without its regression numbers {path}; re-run hnet-bio package"
    return SliceRecord.from_json(json.loads(path.read_text()), str(path))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_matches_its_card(name: str) -> None:
    exp = _expected(name)
    path = registry.MODELS_DIR / name
    weights = path / "model.safetensors"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == exp.weights_sha256, (
        f"{weights} is not the file {EXPECTED / (name + '.json')} was measured on")
    assert weights.stat().st_size <= 10_500_000
    model, meta = load_pretrained(name)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert meta.modality == exp.modality and meta.seq_len == exp.seq_len
    windows, _ = mm.slice_windows(exp.modality, DATA, exp.seq_len, exp.sample_rate)
    assert len(windows) == exp.windows
    got = mm.measure(model, windows)
    assert got.predicted_bytes == exp.predicted_bytes
    assert math.isclose(got.bits_per_byte, exp.bits_per_byte, abs_tol=TOL_BPB), (got, exp)
    assert len(got.bytes_per_chunk) == len(exp.bytes_per_chunk) == len(exp.target_ratio)
    for have, want, target in zip(got.bytes_per_chunk, exp.bytes_per_chunk, exp.target_ratio):
        assert abs(have - want) <= TOL_CHUNK
        assert target / TARGET_FACTOR <= have <= target * TARGET_FACTOR, f"{have} B/chunk, target {target}"
    # The card is rendered from the metadata it ships with, and states the recorded number.
    facts = CardFacts.from_metadata(meta)
    assert facts is not None and facts.regression_slice is not None
    assert facts.regression_slice == exp.regression_slice  # the card and the test's file agree
    assert (path / "README.md").read_text() == render_card(meta)
    assert f"{facts.regression_slice.bits_per_byte:.4f}" in (path / "README.md").read_text()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_metadata_reads_and_writes_back_byte_for_byte(name: str) -> None:
    """The typed card facts lose nothing: metadata.json and the slice file re-serialise exactly."""
    exp = _expected(name)
    path = registry.MODELS_DIR / name
    meta = read_metadata(path)
    facts = CardFacts.from_metadata(meta)
    assert facts is not None and facts.name == name
    assert json.dumps(facts.metadata_json(meta), indent=2) + "\n" == (path / "metadata.json").read_text()
    assert json.dumps(exp.to_json(), indent=2) + "\n" == (EXPECTED / f"{name}.json").read_text()
    assert SliceRecord.of(meta, facts) == exp


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_listed(name: str, capsys: pytest.CaptureFixture) -> None:
    _expected(name)
    facts = CardFacts.from_metadata(read_metadata(registry.MODELS_DIR / name))
    assert facts is not None
    assert main(["models"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name))
    assert f"{facts.evaluation.held_out.bits_per_byte:.4f}" in row
