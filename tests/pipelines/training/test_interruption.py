"""`hnet-bio pretrain` killed with SIGKILL at named moments and resumed, again and again, ends
exactly where an uninterrupted run ends; and Ctrl-C stops it cleanly.

The kills are deterministic: the run itself sends SIGKILL to its own process at a named point
(``HNET_BIO_FAULT=POINT@STEP``, see `pipelines.runs.run_dir.fault_point`), inside a
checkpoint write, right after one, in the middle of a rotation, or between checkpoints. A
SIGKILL cannot be caught, so what the test sees on disk is what a power cut or the OOM killer
leaves. After every kill every checkpoint on disk must load (weights, optimizer, trainer state),
and after the last resume the run must equal the uninterrupted one bit for bit: metrics, weights,
AdamW moments, trainer state (RNG states included), the checkpoints kept and ``best``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hnet_bio.checkpoint import load_pretrained
from pipelines.runs import run_dir as rd
from pipelines.runs.records import TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training.hooks import TrainingHooks
from pipelines.training.loop import pretrain
from tests.paths import ROOT
from tests.pipelines.training.test_pretrain import DNA, TIMING, tiny

SIGKILLED = -signal.SIGKILL  # subprocess returncode of a process killed by SIGKILL


def _cli(args: list[str], fault: str | None = None, **popen: object) -> subprocess.CompletedProcess:
    """`python -m pipelines pretrain ARGS` (what `hnet-bio pretrain` runs), one thread, like the test."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop(rd.FAULT_ENV, None)
    if fault:
        env[rd.FAULT_ENV] = fault
    return subprocess.run([sys.executable, "-m", "pipelines", "pretrain", *args, "-q"], env=env,
                          capture_output=True, text=True, timeout=300, **popen)


def _assert_every_checkpoint_loads(run: Path) -> None:
    """No torn ``step-N``: each one has all files and loads; ``best`` (if any) points at one of them."""
    root = run / rd.CHECKPOINTS
    visible = sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []
    steps = [n for n in visible if n != rd.BEST]
    assert [rd.step_dir_name(s) for s, _ in rd.list_checkpoints(run)] == steps, f"torn: {visible}"
    for name in steps:
        load_pretrained(root / name)
        rd.load_optimizer_state(root / name)
        assert rd.load_trainer_state(root / name)["step"] == int(name.split("-")[1])
    if rd.BEST in visible:
        assert rd.best_checkpoint(run) is not None and rd.best_checkpoint(run).name in steps


def _assert_same_run(ref: Path, run: Path) -> None:
    def metrics(p: Path) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in RunDir(p).read_metrics()]

    assert metrics(run) == metrics(ref)  # every logged loss and eval, bit for bit
    names = sorted(p.name for p in (ref / rd.CHECKPOINTS).iterdir())
    assert sorted(p.name for p in (run / rd.CHECKPOINTS).iterdir()) == names  # same kept, no leftovers
    assert os.readlink(run / rd.CHECKPOINTS / rd.BEST) == os.readlink(ref / rd.CHECKPOINTS / rd.BEST)
    for _, a in rd.list_checkpoints(ref):
        b = run / rd.CHECKPOINTS / a.name
        wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
        oa, ob = rd.load_optimizer_state(a)["state"], rd.load_optimizer_state(b)["state"]
        assert oa.keys() == ob.keys()
        assert all(torch.equal(oa[i][k], ob[i][k]) for i in oa for k in ("exp_avg", "exp_avg_sq", "step"))
        ta, tb = rd.load_trainer_state(a), rd.load_trainer_state(b)
        assert ta["rng"] == tb["rng"]  # the RNG states too: a resumed run is the same run
        assert ta == tb
    sa, sb = (RunDir(p).summary() for p in (ref, run))
    for key in ("steps", "completed", "train_bytes", "final_loss", "final_eval_bpb", "best_eval_bpb"):
        assert getattr(sa, key) == getattr(sb, key), key


def _kill_and_resume(tmp_path: Path, max_steps: int, faults: list[str]) -> None:
    cfg = tiny(max_steps=max_steps, save_every=2, keep_last=2, eval_every=4)
    ref = tmp_path / "ref"
    pretrain(cfg, DNA, ref, verbose=False)  # in-process, one thread (conftest), like the CLI below

    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(cfg.to_dict()))
    run = tmp_path / "run"
    for i, fault in enumerate(faults):
        args = ["--resume", str(run)] if i else ["--config", str(recipe), "--data", *DNA, "--out", str(run)]
        res = _cli(args, fault=fault)
        assert res.returncode == SIGKILLED, f"{fault} was not reached: rc {res.returncode}\n{res.stderr}"
        _assert_every_checkpoint_loads(run)
    res = _cli(["--resume", str(run)])
    assert res.returncode == 0, res.stderr
    assert not [p for p in (run / rd.CHECKPOINTS).iterdir() if p.name.startswith(".")]  # leftovers removed
    _assert_same_run(ref, run)


def test_sigkill_inside_checkpoint_write_and_rotation(tmp_path: Path) -> None:
    """Two kills (a torn checkpoint write, a torn rotation) and a resume == the straight run."""
    _kill_and_resume(tmp_path, 8, ["checkpoint-partial@4", "rotate-renamed@2"])


@pytest.mark.slow
def test_sigkill_at_seven_moments(tmp_path: Path) -> None:
    """Seven kills over a 16-step run: between checkpoints, inside a checkpoint write (twice), after a
    checkpoint is in place but before `best` and rotation (twice, the last at the final step, so the
    last resume only finishes the bookkeeping), and in both halves of a rotation (renamed away; half
    deleted). Steps 2, 6, 10 are never best (no eval there), so they are surely rotated out when
    steps 6, 10, 14 are saved."""
    _kill_and_resume(tmp_path, 16, ["step-done@3", "checkpoint-partial@6", "rotate-renamed@2",
                                    "rotate-deleting@6", "checkpoint-written@12", "checkpoint-partial@14",
                                    "checkpoint-written@16"])


def test_ctrl_c_checkpoints_summarises_and_exits_130(tmp_path: Path) -> None:
    """SIGINT like SIGTERM: the step finishes, a checkpoint and summary.json are written, the output
    says how to resume, exit status 130 (the shell's status for a Ctrl-C'd job). Sent to the whole
    process group, as a terminal does, so the DataLoader worker gets it too and must carry on."""
    cfg = tiny(max_steps=400, save_every=0, eval_every=0, log_every=1, num_workers=1)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(cfg.to_dict()))
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pipelines", "pretrain", "--config", str(recipe), "--data", DNA[0],
           "--out", str(run)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_sigint_default)
    _wait_for_steps(run, proc, 3)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    summary = RunDir(run).summary()
    assert not summary.completed and summary.stopped_by == "SIGINT"
    step = summary.steps
    assert 3 <= step < 400 and rd.latest_checkpoint(run).name == rd.step_dir_name(step)
    assert "Ctrl-C again" in err and f"hnet-bio pretrain --resume {run}" in out
    assert "Traceback" not in err
    _assert_every_checkpoint_loads(run)


def test_second_ctrl_c_stops_at_once_and_abandons_the_checkpoint(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C at step 3 asks for a checkpoint of step 3; a second Ctrl-C while it is written stops
    at once: KeyboardInterrupt (the CLI: "interrupted", 130), the half-written checkpoint's
    temporary directory is gone, the checkpoint of step 2 is intact."""
    real_save = torch.save

    def ctrl_c_during_write(obj: object, f: object, *a: object, **k: object) -> None:
        if rd.step_dir_name(3) in str(f):
            os.kill(os.getpid(), signal.SIGINT)
        real_save(obj, f, *a, **k)

    def ctrl_c_after_step(rec: TrainRecord) -> None:
        if rec.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(torch, "save", ctrl_c_during_write)
    run = tmp_path / "run"
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal, even under nohup
    try:
        with pytest.raises(KeyboardInterrupt):
            pretrain(tiny(max_steps=8, eval_every=0), DNA, run, verbose=False,
                     hooks=TrainingHooks(on_step=ctrl_c_after_step))
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(p.name for p in (run / rd.CHECKPOINTS).iterdir()) == [rd.step_dir_name(2)]
    _assert_every_checkpoint_loads(run)


def _sigint_default() -> None:
    """In the child before exec: SIGINT as at a terminal, even if the test runs under nohup."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_steps(run: Path, proc: subprocess.Popen, steps: int) -> None:
    """Poll metrics.jsonl until the run logged ``steps`` training steps (no fixed sleeps)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        if len(RunDir(run).read_metrics("train")) >= steps:
            return
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the run did not start training in time")
