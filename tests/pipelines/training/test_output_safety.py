"""Unwritable, full or odd output paths: one line naming the user's path, checked before the work
where possible; on a full disk mid-run earlier checkpoints stay intact and no temporary is left.

A full disk and a read-only file system cannot be made without root-only mounts, so they are
injected where the real error would arise (``OSError(ENOSPC)`` from the file writers, ``EROFS``
from the probe), with the temporary file name the real error would carry, which the message must
not show. A real ``chmod`` variant runs where the tests do not run as root.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch

from hnet_bio import HNetConfig, HNetLM
from hnet_bio import checkpoint as ck
from hnet_bio.checkpoint import load_pretrained, save_pretrained
from pipelines import output_paths
from pipelines.cli import main
from pipelines.generation import outputs as gen
from pipelines.runs import run_dir as rd
from pipelines.training.loop import pretrain
from pipelines.training.metrics import MetricsLogger
from tests.paths import CONFIGS, DATA
from tests.pipelines.training.test_pretrain import DNA, tiny

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _recipe(tmp_path: Path, **train: object) -> Path:
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(tiny(**train).to_dict()))
    return path


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dna_checkpoint(tiny_checkpoints: Mapping[str, Path]) -> Path:
    return tiny_checkpoints["dna"]


# --------------------------------------------------------------------------- before the work

def test_out_that_is_a_file_or_unwritable_is_refused_first(tmp_path: Path, dna_checkpoint: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    recipe = _recipe(tmp_path)
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    assert main(["pretrain", "--config", str(recipe), "--data", DNA[0], "--out", str(afile)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--out {afile} is a regular file, not a directory" in line and "not empty" not in line
    assert main(["pretrain", "--resume", str(afile)]) == 2
    assert "is a file, not a run directory" in _one_line(capsys.readouterr().err)
    assert main(["pretrain", "--config", str(recipe), "--out", str(afile / "run")]) == 2
    assert f"{afile} is a regular file" in _one_line(capsys.readouterr().err)
    assert main(["generate", "--checkpoint", str(dna_checkpoint), "--prompt", "ACGT",
                 "--out", str(tmp_path)]) == 2
    assert f"--out {tmp_path} is a directory" in _one_line(capsys.readouterr().err)
    assert afile.read_text() == "mine"

    # A read-only file system (EROFS from the probe): refused before any data is read or model loaded.
    def read_only(*a: object, **k: object) -> object:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / ".hnet-bio-write-test-x"))

    monkeypatch.setattr(output_paths.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(ck, "load_file", lambda *a, **k: pytest.fail("loaded a model before the check"))
    run = tmp_path / "new" / "run"
    assert main(["pretrain", "--config", str(recipe), "--data", "/nonexistent.fa", "--out", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(run) in line and "Read-only file system" in line and "write-test" not in line
    out = tmp_path / "gen.fa"
    assert main(["generate", "--checkpoint", str(dna_checkpoint), "--prompt", "ACGT", "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "Read-only file system" in line
    assert not run.parent.exists() and not out.exists()


def test_too_little_space_for_one_checkpoint_is_refused_before_training(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The file system's free space is injected (the real one cannot be filled safely)."""
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(output_paths.shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    run = tmp_path / "run"
    assert main(["pretrain", "--config", str(_recipe(tmp_path)), "--data", DNA[0], "--out", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--out {run}: only 1 kB free there, and a checkpoint needs about" in line
    assert not run.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["pretrain", "--config", str(_recipe(tmp_path)), "--out", str(locked / "run")]) == 2
        assert "cannot write in" in _one_line(capsys.readouterr().err)
    finally:
        locked.chmod(0o700)


def test_probe_leaves_nothing(tmp_path: Path) -> None:
    output_paths.check_output_dir(tmp_path / "a" / "b")
    output_paths.check_output_file(tmp_path / "x.fa")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- during the work

@pytest.mark.parametrize("where", ["weights", "optimizer"])
def test_disk_full_during_a_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture, where: str) -> None:
    """ENOSPC while step 4's checkpoint is written: exit 1, one line naming step-00000004 (not the
    temporary), how to continue; step 2's checkpoint intact; no temporary file or directory left."""
    run = tmp_path / "run"
    before: dict[str, str] = {}

    def full_disk(real: object) -> object:
        def write(obj: object, f: object, *a: object, **k: object) -> object:
            name = str(getattr(f, "name", f))  # torch.save is given an open file, save_file a name
            if rd.step_dir_name(4) in name:
                before.update(_tree(run / rd.CHECKPOINTS / rd.step_dir_name(2)))
                Path(name).write_bytes(b"partial")  # what a writer leaves before the disk fills
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
            return real(obj, f, *a, **k)  # type: ignore[operator]
        return write

    if where == "weights":
        monkeypatch.setattr(ck, "save_file", full_disk(ck.save_file))
    else:
        monkeypatch.setattr(torch, "save", full_disk(torch.save))
    rc = main(["pretrain", "--config", str(_recipe(tmp_path, max_steps=6, eval_every=0)), "--data", DNA[0],
               "--out", str(run), "-q"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 1
    assert f"cannot write checkpoint {run / rd.CHECKPOINTS / rd.step_dir_name(4)}" in line
    assert "No space left on device" in line and f"--resume {run}" in line and ".tmp" not in line
    assert [s for s, _ in rd.list_checkpoints(run)] == [2]
    assert _tree(run / rd.CHECKPOINTS / rd.step_dir_name(2)) == before
    load_pretrained(run / rd.CHECKPOINTS / rd.step_dir_name(2))
    assert not [p for p in run.rglob(".*")], "a temporary was left behind"


def test_disk_full_in_metrics_and_generate_output(tmp_path: Path, dna_checkpoint: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    class FullFile:
        def write(self, text: str) -> int:
            raise ENOSPC

        def flush(self) -> None:
            raise ENOSPC

        def close(self) -> None:
            """Closing a full file succeeds; only writes fail."""

    logger = MetricsLogger(tmp_path / "metrics.jsonl")
    logger._fh.close()  # type: ignore[union-attr]
    logger._fh = FullFile()  # type: ignore[assignment]
    with pytest.raises(Exception) as exc:
        logger.log({"step": 1})
    assert str(exc.value).startswith(f"cannot write metrics {tmp_path / 'metrics.jsonl'}: No space left")
    logger.close()  # after a failed write: releases the file without a second error

    def full_disk(records: object, path: object, *a: object, **k: object) -> None:
        tmp = Path(path).with_name(f".{Path(path).name}.abc123.tmp")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

    monkeypatch.setattr(gen, "write_fasta", full_disk)
    out = tmp_path / "gen.fa"
    rc = main(["generate", "--checkpoint", str(dna_checkpoint), "--prompt", "ACGT", "--max-new-bytes", "4",
               "--out", str(out)])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1 and line == f"hnet-bio generate: error: cannot write output {out}: No space left on " \
                               "device (free some space)"
    assert not out.exists()


def test_disk_full_at_the_third_wav_leaves_no_wav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    ckpt = tmp_path / "audio"
    save_pretrained(HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json")), ckpt,
                    {"modality": "audio", "byte_convention": "mulaw-8bit", "sample_rate": 8000})
    real = gen.write_wav

    def full_at_third(path: Path, *a: object, **k: object) -> object:
        if path.name.endswith("-3.wav"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path.with_name(".x.tmp")))
        return real(path, *a, **k)

    monkeypatch.setattr(gen, "write_wav", full_at_third)
    out = tmp_path / "gen" / "s.wav"
    rc = main(["generate", "--checkpoint", str(ckpt), "--prompt-audio", str(DATA /
               "speech_allison_3s.wav"), "--max-new-bytes", "8", "--num-samples", "3", "--out", str(out)])
    assert rc == 1 and f"cannot write output {out}: No space left" in capsys.readouterr().err
    assert not list(out.parent.glob("*.wav"))


# --------------------------------------------------------------------------- permissions

def test_every_run_file_gets_the_umask_mode(tmp_path: Path) -> None:
    """model.safetensors, optimizer.pt, trainer_state.json, metadata, metrics, plot, summary: one mode."""
    old = os.umask(0o027)
    try:
        pretrain(tiny(max_steps=2, eval_every=2), DNA[0], tmp_path / "run", verbose=False)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file() and not p.is_symlink()]
    ckpt = {p.name for p in files if p.parent.name == rd.step_dir_name(2)}
    assert ckpt == set(rd.CHECKPOINT_FILES)
    assert {p.relative_to(tmp_path): oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == \
           {p.relative_to(tmp_path): oct(0o640) for p in files}
    dirs = [p for p in (tmp_path / "run").rglob("*") if p.is_dir() and not p.is_symlink()]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o750 for p in dirs)
