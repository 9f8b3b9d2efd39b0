"""`hnet-bio evaluate`: pretraining's own number on the same windows, an independent float64 sum of
log-probabilities on any file, anchors on the same bytes, and one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hnet_bio.checkpoint import load_pretrained
from pipelines.cli import main
from pipelines.evaluation.anchors import MarkovResult, compressed_bpb
from pipelines.evaluation.heldout import evaluate_checkpoint
from pipelines.evaluation.result import AnchorNumbers, EvaluationResult
from pipelines.runs.run_dir import RunDir
from pipelines.training.loop import pretrain
from pipelines.training.train_config import PretrainConfig, TrainConfig, read_config
from tests.paths import CONFIGS, DATA

DNA = [str(DATA / f) for f in ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa", "vcholerae_O395_20kb.fa")]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    cfg = read_config(CONFIGS / "tiny-1stage.json")
    train = TrainConfig(seq_len=64, batch_size=2, max_steps=6, lr=3e-3, warmup_steps=2, log_every=1,
                        eval_every=0, eval_windows=5, save_every=0, deterministic=True,
                        eval_at_bytes=[100, 300])
    out = tmp_path_factory.mktemp("eval") / "run"
    pretrain(PretrainConfig(model=cfg.model, data=cfg.data, train=train), DNA, out, verbose=False)
    return out


def test_eval_at_bytes_adds_evaluations(run: Path) -> None:
    """128 bytes per step: 100 bytes -> step 1, 300 -> step 3, and the final step 6."""
    assert [r.step for r in RunDir(run).eval_records()] == [1, 3, 6]


def test_same_number_as_pretraining(run: Path) -> None:
    """The eval split and window cap of the run reproduce its last logged held-out bits/byte."""
    last = RunDir(run).eval_records()[-1]
    r = evaluate_checkpoint(run, DNA, split="eval", max_windows=5, anchors=False)
    assert r.bits_per_byte == pytest.approx(last.eval_bpb, rel=1e-6)
    assert r.bytes_per_chunk == pytest.approx(last.eval_compression, rel=1e-6)
    assert r.predicted_bytes == last.eval_bytes == 5 * 64
    assert r.anchors is None and "anchors" not in r.to_json() and "anchor_train" not in r.to_json()


def test_whole_file_against_float64_log_probs(run: Path, tmp_path: Path) -> None:
    """--split all on one file: every 65-byte window of it, summed in float64 independently."""
    f = DNA[1]
    r = evaluate_checkpoint(run, [f], split="all", anchors=True, max_order=4)
    model, _ = load_pretrained(r.checkpoint)
    seq = b"".join(line.strip() for line in Path(f).read_bytes().splitlines() if not line.startswith(b">"))
    data = np.frombuffer(seq.upper(), dtype=np.uint8)
    n = data.size // 65
    windows = torch.from_numpy(data[: n * 65].reshape(n, 65).copy()).long()
    with torch.no_grad():
        logits = model(windows[:, :-1]).logits.double()  # (n, 64, 256)
    nll = -torch.log_softmax(logits, -1).gather(-1, windows[:, 1:, None]).sum().item()
    assert r.windows == n and r.predicted_bytes == n * 64
    assert r.bits_per_byte == pytest.approx(nll / (n * 64) / math.log(2), rel=1e-5)
    per_window = -torch.log_softmax(logits, -1).gather(-1, windows[:, 1:, None]).squeeze(-1).sum(1) / 64
    assert r.window_bpb == pytest.approx((per_window / math.log(2)).tolist(), abs=1e-5)
    iv = r.interval()
    assert iv is not None and iv.low < r.bits_per_byte < iv.high and iv.n == n
    a = r.anchors
    assert a is not None
    assert a.xz == compressed_bpb([w.numpy().astype(np.uint8) for w in windows]).xz
    assert a.markov.eval_bytes == n * 64 and len(a.markov.bpb_by_order) == 5
    assert 1.8 < a.markov.best_bpb < 2.1  # bacterial DNA: just under 2 bits/base


def test_cli_table_and_json(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    rc = main(["evaluate", "--checkpoint", str(run), "--data", DNA[0], "--region",
               "ecoli_MG1655:1001-1400", "--max-order", "3", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "bits/byte" in text and "Markov order" in text and "bytes/chunk stage 0" in text
    assert "95% interval (windows)" in text
    r = json.loads(out.read_text())
    assert r["split"] == "regions" and r["windows"] == 400 // 65 and r["predicted_bytes"] == 6 * 64
    iv = r["bits_per_byte_interval"]
    assert iv["n"] == 6 and iv["low"] <= r["bits_per_byte"] <= iv["high"]


@pytest.mark.parametrize("argv, needle", [
    (["--checkpoint", "{tmp}", "--data", DNA[0]], "not a checkpoint directory"),
    (["--checkpoint", "{run}", "--data", str(DATA / "speech_allison_3s.wav"), "--split", "all"],
     "cannot be evaluated on audio"),
    (["--checkpoint", "{run}", "--data", DNA[0], "--region", "chrZ:1-100"], "chrZ"),
    (["--checkpoint", "{run}", "--data", DNA[0], "--seq-len", "100000"], "no window"),
])
def test_bad_input_one_line_exit_2(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   argv: list[str], needle: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{run}", str(run)) for a in argv]
    assert main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_result_json_keys_in_file_order() -> None:
    """--json writes the keys in the order the file has always had (anchors last, when measured);
    ``bytes_used`` (issue 22) came in after ``seconds``."""
    markov = MarkovResult([2.0, 1.5], train_bytes=10, eval_bytes=4)
    r = EvaluationResult(checkpoint="c", model_class="HNetLM", data=["a.fa", "b.fa"], regions=[], split="all",
                         seq_len=8, windows=2, bits_per_byte=1.9, predicted_bytes=16, bytes_per_chunk=[3.5],
                         seconds=0.25, anchor_train="dna-sample",
                         anchors=AnchorNumbers(markov, xz=2.5, zstd=2.25, compressed=16))
    assert json.dumps(r.to_json()) == (
        '{"checkpoint": "c", "model_class": "HNetLM", "data": ["a.fa", "b.fa"], "regions": [], '
        '"split": "all", "seq_len": 8, "windows": 2, "bits_per_byte": 1.9, "predicted_bytes": 16, '
        '"bytes_per_chunk": [3.5], "seconds": 0.25, "bytes_used": [], "anchor_train": "dna-sample", '
        '"anchors": {"markov": '
        '{"best_order": 1, "best_bpb": 1.5, "bpb_by_order": [2.0, 1.5], "train_bytes": 10, "eval_bytes": 4}, '
        '"xz": 2.5, "zstd": 2.25, "bytes": 16}}')


def test_checkpoint_as_the_resolver_takes_it(run: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--checkpoint takes a run (its best), RUN@last, RUN@STEP and a shipped name; a miss lists the run."""
    rd = RunDir(run)
    steps = [s for s, _ in rd.checkpoints()]
    best = rd.best_checkpoint()
    assert best is not None and steps[-1] == 6
    common = dict(split="all", max_windows=2, anchors=False)
    assert evaluate_checkpoint(run, DNA[0], **common).checkpoint == str(best)
    assert evaluate_checkpoint(f"{run}@last", DNA[0], **common).checkpoint == str(rd.checkpoint_path(6))
    assert evaluate_checkpoint(f"{run}@{steps[0]}", DNA[0], **common).checkpoint == str(
        rd.checkpoint_path(steps[0]))
    shipped = evaluate_checkpoint("dna-bacteria-small", DNA[0], **common)
    assert Path(shipped.checkpoint).name == "dna-bacteria-small" and shipped.seq_len == 1024
    assert main(["evaluate", "--checkpoint", f"{run}@5", "--data", DNA[0], "--no-anchors"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no step 5 checkpoint" in err
    assert "checkpoints there: " + ", ".join(p.name for _, p in rd.checkpoints()) in err


def test_a_file_the_model_never_saw_is_evaluated_whole_and_named(run: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--split auto: the training corpus gives its held-out split, any other file every byte of it;
    the output names the bytes (record, span, file) either way."""
    own = tmp_path / "mine.fa"  # a genome the run never saw: the first 6,500 bases of the S. aureus slice
    seq = b"".join(line.strip() for line in Path(DNA[1]).read_bytes().splitlines()[1:])[:6500]
    own.write_bytes(b">mine\n" + seq + b"\n")
    r = evaluate_checkpoint(run, str(own), anchors=False)
    assert r.split == "all" and r.windows == 6500 // 65 == 100
    assert [(s.record, s.start0, s.end0, s.windows) for s in r.bytes_used] == [("mine", 0, 6500, 100)]
    # the same file held out as pretraining would (its last 5%): only when asked for
    tail = evaluate_checkpoint(run, str(own), split="eval", anchors=False)
    assert tail.split == "eval" and [(s.start0, s.end0) for s in tail.bytes_used] == [(6175, 6500)]
    # the training corpus itself: its held-out split (three files are too few to hold one out whole:
    # the last 5% of each 20,000-base record), named where those bytes lie in each record
    trained = evaluate_checkpoint(run, DNA, anchors=False, max_windows=5)
    assert trained.split == "eval" and [s.file for s in trained.bytes_used] == DNA
    assert all(s.start0 >= 19000 and s.end0 <= 20000 for s in trained.bytes_used)
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(own), "--no-anchors"]) == 0
    out = capsys.readouterr().out
    assert "all (every byte of the data)" in out and "mine:1-6,500 of mine.fa (100 windows)" in out


def test_modality_is_checked_before_the_split(run: Path, tiny_checkpoints: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A WAV to a DNA checkpoint: the modality error, whatever the split (its eval split is empty)."""
    wav = str(DATA / "speech_allison_3s.wav")
    for split in ("eval", "auto"):
        assert main(["evaluate", "--checkpoint", str(run), "--data", wav, "--split", split]) == 2
        err = capsys.readouterr().err
        assert "a dna checkpoint cannot be evaluated on audio data" in err, err
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoints["audio"]), "--data", DNA[0]]) == 2
    assert "an audio checkpoint cannot be evaluated on dna data" in capsys.readouterr().err


def test_markov_anchor_is_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.evaluation.anchor_cache import cached_markov
    from pipelines.evaluation.anchors import markov_bpb

    monkeypatch.setenv("HNET_BIO_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    train = [rng.integers(65, 69, 3000, dtype=np.uint8) for _ in range(2)]
    windows = [rng.integers(65, 69, 65, dtype=np.uint8) for _ in range(4)]
    calls = []

    def units() -> list[np.ndarray]:
        calls.append(1)
        return train

    first, hit1 = cached_markov(units, windows, 4)
    again, hit2 = cached_markov(units, windows, 4)
    assert (hit1, hit2) == (False, True) and again.bpb_by_order == first.bpb_by_order
    assert first.bpb_by_order == markov_bpb(train, windows, 4).bpb_by_order
    assert len(list((tmp_path / "anchors").iterdir())) == 1
    changed = [w.copy() for w in windows]
    changed[0][5] ^= 1  # one byte of the held-out data differs: a new count, never the stale one
    _, hit3 = cached_markov(units, changed, 4)
    assert not hit3 and len(list((tmp_path / "anchors").iterdir())) == 2


def test_auto_split_follows_the_training_split(tmp_path: Path) -> None:
    """eval on (a file of) the training split; all on anything else, a held-out strain included."""
    from modalities.corpora import CORPORA, corpus_files
    from pipelines.evaluation.scope import choose_split

    here = [str(Path(f).resolve()) for f in DNA]
    assert choose_split("auto", here, DNA) == "eval"
    assert choose_split("auto", here[:1], DNA) == "eval"  # a training file (its tail was held out)
    assert choose_split("auto", [str(DATA / "leptospira_excerpt.gbk")], DNA) == "all"
    assert choose_split("auto", here, None) == "all" and choose_split("eval", here[:1], None) == "eval"
    # recorded relative to another directory: the same file names count as the training files
    assert choose_split("auto", here, [f"elsewhere/{Path(f).name}" for f in DNA]) == "eval"
    strains = {Path(f).name: str(f) for f in corpus_files(CORPORA["dna-bacteria"])}
    if not strains:
        pytest.skip("dna-bacteria is not unpacked (scripts/fetch_data.sh)")
    # the shipped model's corpus holds out whole strains: MG1655 is unseen, G27 was trained on
    assert choose_split("auto", strains["MG1655-K12.fasta.gz"], "dna-bacteria") == "all"
    assert choose_split("auto", strains["G27.fasta.gz"], "dna-bacteria") == "eval"
