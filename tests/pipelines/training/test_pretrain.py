"""`hnet-bio pretrain`: exact resume, divergence handling, run-directory safety, both model kinds.

Everything runs the real model and real data slices (tests/data) with the tiny configs and
64-byte windows, so each run takes a second or two on a laptop CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hnet_bio.atomic import atomic_write_json
from pipelines.cli import main
from pipelines.runs import run_dir as rd
from pipelines.runs.records import TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training import train_step as ts
from pipelines.training.hooks import TrainingHooks
from pipelines.training.loop import pretrain
from pipelines.training.train_config import PretrainConfig, TrainConfig, read_config
from tests.paths import CONFIGS, DATA, ROOT

DNA = [str(DATA / f) for f in ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa", "vcholerae_O395_20kb.fa")]
AUDIO = [str(DATA / "speech_allison_3s.wav"), str(DATA / "music_cold_day_3s.wav")]
TIMING = {"bytes_per_s", "tflops", "mfu", "elapsed_s"}


def tiny(model: str = "tiny-1stage", **train: object) -> PretrainConfig:
    base = dict(seq_len=64, batch_size=2, max_steps=8, lr=3e-3, warmup_steps=2, log_every=1, eval_every=4,
                eval_windows=6, save_every=2, keep_last=2, deterministic=True)
    base.update(train)
    cfg = read_config(CONFIGS / f"{model}.json")
    return PretrainConfig(model=cfg.model, data=cfg.data, train=TrainConfig(**base))  # type: ignore[arg-type]


def _without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def _digest(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


class Interrupt(Exception):
    """Raised from an on_step hook to simulate a crash in the middle of a run."""


def test_resume_is_bit_exact(tmp_path: Path) -> None:
    """Straight 8 steps == (crash after step 5, last checkpoint at 4) + resume to 8: losses and weights."""
    cfg = tiny()
    straight = pretrain(cfg, DNA, tmp_path / "a", verbose=False)

    def crash(rec: TrainRecord) -> None:
        if rec.step == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        pretrain(cfg, DNA, tmp_path / "b", verbose=False, hooks=TrainingHooks(on_step=crash))
    assert rd.latest_checkpoint(tmp_path / "b").name == "step-00000004"
    assert max(r["step"] for r in RunDir(tmp_path / "b").read_metrics()) == 5
    resumed = pretrain(None, None, tmp_path / "b", resume=True, verbose=False)

    a = _without_timing(RunDir(tmp_path / "a").read_metrics())
    b = _without_timing(RunDir(tmp_path / "b").read_metrics())
    assert [r["step"] for r in a if r["kind"] == "train"] == list(range(1, 9))
    assert a == b  # every logged float, bit for bit (JSON floats round-trip exactly)
    wa = load_file(straight.last_checkpoint / "model.safetensors")
    wb = load_file(resumed.last_checkpoint / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    sa = rd.load_optimizer_state(straight.last_checkpoint)["state"]
    sb = rd.load_optimizer_state(resumed.last_checkpoint)["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    ta, tb = (rd.load_trainer_state(s.last_checkpoint) for s in (straight, resumed))
    assert ta["rng"] == tb["rng"] and ta == tb  # RNG states too: resuming draws nothing extra
    assert resumed.steps == 8 and resumed.train_bytes == straight.train_bytes == 8 * 2 * 64

    # A SIGTERM (a scheduler's preemption) after step 3: checkpoint at 3, stop cleanly, resume exactly.
    def preempt(rec: TrainRecord) -> None:
        if rec.step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    stopped = pretrain(cfg, DNA, tmp_path / "c", verbose=False, hooks=TrainingHooks(on_step=preempt))
    assert not stopped.completed and stopped.last_checkpoint.name == "step-00000003"
    pretrain(None, None, tmp_path / "c", resume=True, verbose=False)
    assert _without_timing(RunDir(tmp_path / "c").read_metrics()) == a


def test_cli_stop_after_and_resume_isotropic_audio(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The baseline on audio through the CLI: split into two jobs with --stop-after, then --resume."""
    recipe = tmp_path / "iso.yaml"
    recipe.write_text(f"model: {ROOT / 'configs' / 'tiny-isotropic.json'}\n"
                      "train: {seq_len: 64, batch_size: 2, max_steps: 6, log_every: 1, eval_every: 3,"
                      " eval_windows: 4, save_every: 100, deterministic: true}\n")
    run = tmp_path / "run"
    assert main(["pretrain", "--config", str(recipe), "--data", *AUDIO, "--out", str(run),
                 "--stop-after", "4", "--train.lr", "2e-3"]) == 0
    assert rd.latest_checkpoint(run).name == "step-00000004"  # stopping writes a checkpoint
    assert main(["pretrain", "--resume", str(run), "-q"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint:" in out and "metrics:" in out and "loss plot:" in out
    train = RunDir(run).read_metrics("train")
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6] and all(r["compression"] == [] for r in train)
    assert train[-1]["lr"] == pytest.approx(2e-3 * 0.1)  # the override survived the resume
    evals = RunDir(run).read_metrics("eval")
    assert [(r["step"], r["train_bytes"]) for r in evals] == [(0, 0), (3, 384), (6, 768)]

    from hnet_bio.checkpoint import load_pretrained

    model, meta = load_pretrained(run / "checkpoints" / "best")
    assert type(model).__name__ == "IsotropicLM"
    assert meta.modality == "audio" and meta.train_bytes > 0 and meta.sample_rate
    assert RunDir(run).loss_plot_path.stat().st_size > 1000
    summary = RunDir(run).summary()
    assert summary.completed and summary.steps == 6 and summary.best_checkpoint


def test_nan_stops_with_message_and_keeps_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    calls = {"n": 0}
    real_forward = ts.forward_loss
    before: dict[str, dict[str, str]] = {}

    def poisoned(*args: object, **kw: object) -> object:
        out = real_forward(*args, **kw)
        calls["n"] += 1
        if calls["n"] == 5:  # step 5; checkpoints at steps 2 and 4 exist
            before.update({p.name: _digest(p) for _, p in rd.list_checkpoints(run)})
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(ts, "forward_loss", poisoned)
    cfg_path = tmp_path / "c.json"
    cfg_path.write_text(json.dumps(tiny().to_dict()))
    rc = main(["pretrain", "--config", str(cfg_path), "--data", DNA[0], "--out", str(run), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and "diverged" in err[0] and "step 5" in err[0] and "step-00000004" in err[0]
    assert sorted(before) == ["step-00000002", "step-00000004"]
    assert {p.name: _digest(p) for _, p in rd.list_checkpoints(run)} == before
    assert max(r["step"] for r in RunDir(run).read_metrics()) == 4


def test_bad_config_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    recipe = CONFIGS / "pretrain-dna-tiny.yaml"
    run = tmp_path / "run"
    assert main(["pretrain", "--config", str(recipe), "--out", str(run), "--train.lr", "fast"]) == 2
    assert main(["pretrain", "--config", str(recipe), "--out", str(run), "--train.precision", "fp8"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: tiny-1stage\ntrain: {learning_rate: 1}\n")
    assert main(["pretrain", "--config", str(bad), "--out", str(run)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["pretrain", "--config", str(recipe), "--out", str(run), "--train.lrr", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "train.learning_rate" in err and "valid keys" in err
    assert not run.exists()


def test_refuses_non_empty_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    rc = main(["pretrain", "--config", str(CONFIGS / "pretrain-dna-tiny.yaml"), "--out", str(run)])
    assert rc == 2 and "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_resume_edge_cases(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["pretrain", "--resume", str(tmp_path / "absent")]) == 2
    assert "cannot resume" in capsys.readouterr().err
    run = tmp_path / "run"  # killed before its first checkpoint: only the recipe is there
    run.mkdir()
    (run / RunDir.CONFIG).write_text(json.dumps(tiny(max_steps=2, eval_every=0).to_dict()))
    s = pretrain(None, DNA, run, resume=True)
    assert s.completed and "no checkpoint" in capsys.readouterr().err


def test_two_stage_grad_accum_bf16_and_byte_budget(tmp_path: Path) -> None:
    cfg = tiny("tiny-2stage", max_steps=1000, byte_budget=3 * 2 * 64 * 2, grad_accum=2, precision="bf16",
               eval_every=0, save_every=0, num_workers=1)
    s = pretrain(cfg, DNA, tmp_path / "run", verbose=False)
    assert s.completed and s.steps == 3 and s.train_bytes == 3 * 2 * 64 * 2
    train = RunDir(tmp_path / "run").read_metrics("train")
    assert len(train[-1]["compression"]) == 2 and all(x > 0 for x in train[-1]["compression"])
    assert s.final_eval_bpb is not None and s.final_eval_bpb < 9  # evaluated once at the end


def test_compile_failure_falls_back_to_eager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.compile may reject data-dependent chunk shapes on the first step: the run goes on eagerly,
    on the same batches, so it matches a run without compile."""

    class Broken(torch.nn.Module):
        def forward(self, *a: object, **k: object) -> None:
            raise AssertionError("expected size 4==4, stride 768==1344 at dim=0")

    monkeypatch.setattr(torch, "compile", lambda net, **k: Broken())
    a = pretrain(tiny(max_steps=3, compile=True), DNA, tmp_path / "a", verbose=False)
    b = pretrain(tiny(max_steps=3), DNA, tmp_path / "b", verbose=False)
    assert a.final_loss == b.final_loss and a.steps == 3


def test_window_batches_partition_the_union() -> None:
    """Ranks read disjoint windows whose union is what one process with the whole batch reads."""
    single = list(ts.WindowBatches(3, 5, 2, 1, 0, 8))
    ranks = [list(ts.WindowBatches(3, 5, 2, 4, r, 2)) for r in range(4)]
    for i, batch in enumerate(single):
        assert sorted(j for r in ranks for j in r[i]) == batch
    resumed = list(ts.WindowBatches(4, 5, 2, 1, 0, 8))
    assert resumed == single[2:]


def test_rotation_keeps_last_k_and_best(tmp_path: Path) -> None:
    root = tmp_path / rd.CHECKPOINTS
    for step in (2, 4, 6, 8):
        (root / rd.step_dir_name(step)).mkdir(parents=True)
        for name in rd.CHECKPOINT_FILES:
            atomic_write_json(root / rd.step_dir_name(step) / name, {"step": step})
    (root / ".tmp-step-00000010-1").mkdir()  # a torn save of a killed run
    (root / ".old-step-00000000-1").mkdir()  # a half-deleted rotated checkpoint of a killed run
    rd.mark_best(tmp_path, 2)
    rd.rotate_checkpoints(tmp_path, keep_last=2, best_step=2)
    rd.remove_stale_temporaries(tmp_path)
    assert [s for s, _ in rd.list_checkpoints(tmp_path)] == [2, 6, 8]
    assert rd.best_checkpoint(tmp_path).name == "step-00000002"
    assert rd.latest_checkpoint(tmp_path).name == "step-00000008"
    names = sorted(p.name for p in root.iterdir())
    assert names == ["best", "step-00000002", "step-00000006", "step-00000008"]
