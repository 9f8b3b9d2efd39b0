"""One writer per run directory: a second ``pretrain`` on a run another process is writing stops
with one line naming it (pid, host, since when); the lock of a killed run is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.errors import UsageError
from pipelines.runs import run_dir as rd
from pipelines.runs.lock import RunLock, current_holder
from pipelines.runs.run_dir import RunDir
from tests.paths import ROOT
from tests.pipelines.training.test_output_safety import _one_line, _recipe
from tests.pipelines.training.test_pretrain import DNA


def test_second_writer_is_refused_naming_the_first_and_a_killed_ones_lock_is_taken_over(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    recipe = _recipe(tmp_path, max_steps=2, eval_every=0, save_every=2)
    assert main(["pretrain", "--config", str(recipe), "--data", DNA[0], "--out", str(run), "-q"]) == 0
    assert not (run / RunDir.LOCK).exists(), "a finished run leaves no lock"
    # A real first writer: a long resume in another process.
    first = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "pretrain", "--resume", str(run), "--train.max_steps", "100000",
         "--train.extend", "true", "--train.save_every", "100000", "-q"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while current_holder(run) is None:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            assert time.monotonic() < deadline, "the first writer never took the lock"
            time.sleep(0.2)
        before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
        capsys.readouterr()
        assert main(["pretrain", "--resume", str(run), "--train.max_steps", "4", "-q"]) == 2
        line = _one_line(capsys.readouterr().err)
        host = socket.gethostname()
        assert f"run directory {run} is being written by pid {first.pid} on host {host}, since " in line, line
        # A fresh run into the same directory: named the same way (not "not empty").
        assert main(["pretrain", "--config", str(recipe), "--data", DNA[0], "--out", str(run), "-q"]) == 2
        assert f"is being written by pid {first.pid}" in _one_line(capsys.readouterr().err)
        assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert (run / RunDir.LOCK).exists()  # SIGKILL: nothing could remove it
    assert current_holder(run) is None  # ... and it is recognised as stale
    assert main(["pretrain", "--resume", str(run), "--train.max_steps", "4", "--train.extend", "true"]) == 0
    err = capsys.readouterr().err
    assert f"took over the lock of {run} left by pid {first.pid} on host" in err, err
    assert not (run / RunDir.LOCK).exists()
    assert rd.latest_checkpoint(run) == run / rd.CHECKPOINTS / rd.step_dir_name(4)


def test_lock_in_one_process_and_a_lock_from_another_host(tmp_path: Path) -> None:
    with RunLock(tmp_path / "run") as mine:
        mine.acquire()
        assert current_holder(tmp_path / "run").pid == os.getpid()  # type: ignore[union-attr]
        with pytest.raises(UsageError, match=rf"is being written by pid {os.getpid()} on host "):
            RunLock(tmp_path / "run").acquire()
    assert not (tmp_path / "run" / RunDir.LOCK).exists()
    # A lock written on another host (NFS, where flock may not reach): respected, with the way out.
    (tmp_path / "run" / RunDir.LOCK).write_text(json.dumps(
        {"pid": 4242, "host": "elsewhere", "since": "2026-12-04T01:00:00Z", "command": "hnet-bio pretrain"}))
    with pytest.raises(UsageError, match=r"pid 4242 on host elsewhere, since 2026-12-04T01:00:00Z .*; if "
                                         r"that process is gone, delete .*\.hnet-bio\.lock"):
        RunLock(tmp_path / "run").acquire()


def test_an_empty_directory_with_a_stale_lock_counts_as_empty(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    """A fresh run killed before it wrote anything leaves only its lock: --out may use the directory."""
    run = tmp_path / "run"
    run.mkdir()
    (run / RunDir.LOCK).write_text(json.dumps(
        {"pid": 999999, "host": socket.gethostname(), "since": "2026-12-04T01:00:00Z", "command": "x"}))
    recipe = _recipe(tmp_path, max_steps=2, eval_every=0, save_every=2)
    assert main(["pretrain", "--config", str(recipe), "--data", DNA[0], "--out", str(run), "-q"]) == 0
    assert "took over the lock" in capsys.readouterr().err
    assert not (run / RunDir.LOCK).exists()
