"""`hnet-bio package` end to end on a real (tiny, three-step) run of the embedded genome.

The packaged numbers are checked against independent truth: bits/byte recomputed window by window
in float64 from the shipped weights, the bf16 file's dtypes read from the safetensors header, the
recipe differences against the overrides the run was given, xz against lzma on the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import math
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from hnet_bio import load_pretrained
from hnet_bio.checkpoint import read_metadata
from hnet_bio.dtypes import FP32_KEEP
from modalities.corpora import CORPORA, corpus_files, open_corpus
from pipelines.cli import main
from pipelines.packaging import measures as mm
from pipelines.packaging.card import render_card
from pipelines.packaging.card_facts import CardFacts, SliceRecord
from pipelines.packaging.packager import package_model
from pipelines.packaging.provenance import RunHistory, run_history
from pipelines.runs.run_dir import RunDir
from pipelines.training.loop import pretrain
from pipelines.training.train_config import read_config
from tests.paths import CONFIGS, DATA

RECIPE = CONFIGS / "pretrain-dna-tiny.yaml"
OVERRIDES = {"train.max_steps": 3, "train.eval_every": 0, "train.save_every": 3, "train.log_every": 1,
             "train.seq_len": 128, "train.compile": False}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "run"
    pretrain(read_config(RECIPE, dict(OVERRIDES)), None, out, verbose=False)
    return out


def _naive_bpb(model: torch.nn.Module, windows: list[torch.Tensor]) -> float:
    """Sum of -log2 p(next byte) over every window, one window at a time, in float64."""
    bits, n = 0.0, 0
    with torch.no_grad():
        for w in windows:
            x, y = w[:-1].long()[None], w[1:].long()
            logp = torch.log_softmax(model(x).logits[0].double(), dim=-1)  # (L, 256)
            bits -= logp.gather(1, y[:, None]).sum().item() / math.log(2)
            n += y.numel()
    return bits / n


def test_package_writes_a_measured_model(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "tiny-sample"
    res = package_model(run, "tiny-sample", out_dir=out, recipe=RECIPE, eval_windows=5, absent_windows=0,
                        anchors=False, slice_out=tmp_path / "slice.json", hardware="test CPU")
    meta, facts = res.metadata, res.facts
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "metadata.json",
                                                     "model.safetensors", "pretrain_config.json"]
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
            assert f.get_slice(key).get_dtype() == ("F32" if FP32_KEEP.search(key) else "BF16"), key

    shipped, _ = load_pretrained(out)
    windows, cov = mm.held_out_windows("dna-sample", 128, 5)
    held = facts.evaluation.held_out
    assert held.windows == 5 and held.predicted_bytes == 5 * 128 and cov.split == "eval"
    assert math.isclose(held.bits_per_byte, _naive_bpb(shipped, windows), abs_tol=1e-5)
    assert facts.evaluation.absent_genus is None

    t = facts.training
    assert meta.step == t.steps == 3 and meta.train_bytes == 3 * 4 * 128
    assert t.recipe_differences["train.max_steps"] == [40, 3]
    assert t.recipe_differences["train.seq_len"] == [256, 128]
    assert "train.lr" not in t.recipe_differences
    assert t.command.endswith(f"--out {run} --train.eval_every 0 --train.log_every 1 "
                              "--train.max_steps 3 --train.save_every 3 --train.seq_len 128")
    assert t.hardware == "test CPU" and t.sessions == 1 and t.wall_time_s is not None and t.wall_time_s > 0
    # A bare run directory gives its best checkpoint (the run evaluated once, at its end), and the card
    # says the choice was made on held-out numbers.
    assert t.checkpoint_choice == "best" and t.source_checkpoint == str(run / "checkpoints" / "step-00000003")
    assert any("chosen by held-out bits/byte" in x for x in facts.limitations)

    # What was written reads back as the same facts, and the card is rendered from the file alone.
    on_disk = read_metadata(out)
    assert CardFacts.from_metadata(on_disk) == facts and on_disk == meta
    card = (out / "README.md").read_text()
    assert card == render_card(on_disk) and f"**{held.bits_per_byte:.4f}**" in card
    expected = SliceRecord.from_json(json.loads((tmp_path / "slice.json").read_text()), "slice.json")
    assert expected.weights_sha256 == hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    s_windows, _ = mm.slice_windows("dna", DATA, 128)
    assert math.isclose(expected.bits_per_byte, _naive_bpb(shipped, s_windows), abs_tol=1e-5)
    fp32, _ = load_pretrained(run / "checkpoints" / "step-00000003")
    assert math.isclose(expected.fp32_bits_per_byte, _naive_bpb(fp32, s_windows), abs_tol=1e-5)

    # Packaging again replaces the directory whole, leaving nothing half-written beside it.
    package_model(run, "tiny-sample", out_dir=out, recipe=RECIPE, eval_windows=3, absent_windows=0,
                  anchors=False, slice_out=tmp_path / "slice.json")
    again = CardFacts.from_metadata(read_metadata(out))
    assert again is not None and again.evaluation.held_out.windows == 3
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny-sample"]


def test_a_new_version_keeps_the_numbers_of_the_old_ones(run: Path, tmp_path: Path) -> None:
    """Packaging another checkpoint over a shipped model makes the next version and keeps the old card's
    numbers in its history; packaging the same checkpoint again is a re-packaging, not a version."""
    out, kw = tmp_path / "m", {"recipe": RECIPE, "absent_windows": 0, "anchors": False,
                                "slice_out": tmp_path / "s.json"}
    first = package_model(run, "tiny-sample", out_dir=out, eval_windows=3, **kw).facts
    assert first.version is None and first.history is None  # a first card: version 1, no history
    other = tmp_path / "other-checkpoint"
    shutil.copytree(run / "checkpoints" / "step-00000003", other)
    second = package_model(run, "tiny-sample", checkpoint=str(other), out_dir=out, eval_windows=2, **kw).facts
    (old,) = second.previous_versions()
    assert second.version == 2 and old.version == 1 and old.steps == 3 and old.train_bytes == 3 * 4 * 128
    assert old.held_out_bpb == first.evaluation.held_out.bits_per_byte and old.absent_genus_bpb is None
    assert old.sha256 == first.weights.sha256 and old.held_out.startswith("`dna-sample` eval")
    card = (out / "README.md").read_text()
    assert "## Version history (this is version 2)" in card and f"| {old.held_out_bpb:.4f} (" in card
    again = package_model(run, "tiny-sample", checkpoint=str(other), out_dir=out, eval_windows=2, **kw).facts
    assert again.version == 2 and again.history == second.history
    third = package_model(run, "tiny-sample", out_dir=out, eval_windows=2, **kw).facts
    assert third.version == 3 and [v.version for v in third.previous_versions()] == [1, 2]
    assert CardFacts.from_metadata(read_metadata(out)) == third


def test_anchors_are_measured_on_the_same_bytes(run: Path, tmp_path: Path) -> None:
    res = package_model(run, "tiny-sample", out_dir=tmp_path / "m", recipe=RECIPE, eval_windows=4,
                        absent_windows=0, max_order=2, slice_out=tmp_path / "s.json")
    anchors = res.facts.evaluation.held_out.anchors
    assert anchors is not None
    windows, _ = mm.held_out_windows("dna-sample", 128, 4)
    data = b"".join(w[1:].numpy().tobytes() for w in windows)
    assert anchors.xz == 8 * len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)) / len(data)
    assert len(anchors.markov_by_order) == 3 and anchors.markov == min(anchors.markov_by_order)


@pytest.mark.skipif(not corpus_files(CORPORA["dna-bacteria"]),
                    reason="dna-bacteria not fetched; run scripts/fetch_data.sh")
def test_held_out_strains_are_what_the_genus_split_neither_trains_nor_evaluates_on() -> None:
    found = mm.held_out_strain_windows("dna-bacteria-genus", 128, 6)
    assert found is not None
    windows, cov = found
    strains = open_corpus("dna-bacteria", "eval")
    expected = sorted(Path(u.source).name for u in strains.units if "V.Cholerae" not in u.source)
    assert cov.units == expected == ["MG1655-K12.fasta.gz", "N315.fasta.gz", "Puno120.fasta.gz"]
    assert len(windows) == 6 and cov.split == "held-out strains"
    # every window is bytes of one of those genomes
    first = next(u for u in strains.units if Path(u.source).name == expected[0])
    assert bytes(windows[0].numpy()) == bytes(strains.read(strains.units.index(first), 0, 129))
    assert mm.held_out_strain_windows("dna-bacteria", 128, 6) is None


def test_run_history_sums_sessions(tmp_path: Path) -> None:
    lines = [{"kind": "eval", "step": 0, "train_bytes": 0, "eval_bpb": 2.0},
             {"kind": "train", "step": 10, "train_bytes": 10, "loss": 1.0, "elapsed_s": 30.0},
             {"kind": "train", "step": 20, "train_bytes": 20, "loss": 1.0, "elapsed_s": 50.0},  # killed here
             {"kind": "train", "step": 30, "train_bytes": 30, "loss": 1.0, "elapsed_s": 12.5},  # resumed
             {"kind": "train", "step": 40, "train_bytes": 40, "loss": 1.0, "elapsed_s": 25.0}]
    run = RunDir(tmp_path)
    run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert run_history(run) == RunHistory(sessions=2, wall_time_s=75.0)


def test_bad_run_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["package", "--run", str(tmp_path), "--name", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a pretraining run directory" in err
    assert not any(tmp_path.iterdir())


def test_checkpoint_choice_as_the_resolver_takes_it(run: Path, tmp_path: Path) -> None:
    """RUN@STEP picks that step; the card records the choice the way --checkpoint takes it."""
    res = package_model(f"{run}@3", "tiny-sample", out_dir=tmp_path / "m", recipe=RECIPE, eval_windows=2,
                        absent_windows=0, anchors=False, slice_out=tmp_path / "s.json")
    t = res.facts.training
    assert t.checkpoint_choice == "3" and t.source_checkpoint == str(run / "checkpoints" / "step-00000003")
    assert "(`--checkpoint 3`)" in (tmp_path / "m" / "README.md").read_text()


@pytest.mark.parametrize("suffix, option, needle", [
    ("@last", "best", "choose the checkpoint once"),
    ("@7", None, "no step 7 checkpoint in"),
    ("", "7", "no step 7 checkpoint in"),
    ("", "no-such-checkpoint", "not a shipped model"),
])
def test_checkpoint_misses_are_one_line(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                        suffix: str, option: str | None, needle: str) -> None:
    argv = ["package", "--run", f"{run}{suffix}", "--name", "x", "--recipe", str(RECIPE), "--out",
            str(tmp_path / "m"), *(["--checkpoint", option] if option else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    if "checkpoint in" in needle:
        assert "checkpoints there: step-00000003" in err  # a miss lists what the run holds
    assert not (tmp_path / "m").exists()
