"""A run's pointers (best, last) do not depend on a symlink: runs copied by tools that dereference
symlinks (``cp -r``, rsync without ``-l``, ``scp -r``, zip, an object-store sync) are read and
resumed, and resuming turns ``best`` back into the symlink without losing a byte."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.runs import run_dir as rd
from pipelines.runs.resolve import resolve_checkpoint
from pipelines.training.loop import pretrain
from tests.pipelines.training.test_pretrain import DNA, tiny


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Evaluations at 2 and 4 and checkpoints at 2 and 4 (both kept); best is whichever evaluated lower."""
    run = tmp_path_factory.mktemp("runs") / "run"
    pretrain(tiny(max_steps=4, eval_every=2, save_every=2, keep_last=3), DNA[0], run, verbose=False)
    assert (run / rd.CHECKPOINTS / rd.BEST).is_symlink()
    return run


def resume_cmd(run: Path) -> list[str]:
    return ["pretrain", "--resume", str(run), "--train.max_steps", "6", "--train.extend", "true", "-q"]


def _digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and "best" not in p.relative_to(path).parts}


def _best_name(run: Path) -> str:
    return rd.step_dir_name(rd.recorded_best_step(run) or -1)


def _resume_and_check(copy: Path, capsys: pytest.CaptureFixture) -> None:
    before = _digest(copy / rd.CHECKPOINTS)
    assert main(resume_cmd(copy)) == 0, capsys.readouterr().err
    link = copy / rd.CHECKPOINTS / rd.BEST
    assert link.is_symlink() and (link.parent / link.readlink()).is_dir()
    after = _digest(copy / rd.CHECKPOINTS)
    kept = {k: v for k, v in before.items() if k in after}
    assert kept == {k: after[k] for k in kept}, "a checkpoint changed"
    assert {p.name for _, p in rd.list_checkpoints(copy)} >= {rd.step_dir_name(6)}


def test_a_dereferenced_copy_is_read_and_resumed(original: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=False)  # `cp -r`: best becomes a real directory
    best = copy / rd.CHECKPOINTS / rd.BEST
    assert best.is_dir() and not best.is_symlink()
    want = copy / rd.CHECKPOINTS / _best_name(original)
    assert rd.best_checkpoint(copy) == want  # the step-N directory, not the copy named best
    assert resolve_checkpoint(copy).path == want and resolve_checkpoint(f"{copy}@best").path == want
    _resume_and_check(copy, capsys)


def test_a_copy_that_dropped_the_symlink(original: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    """rsync without -l skips the symlink ("skipping non-regular file"): best is simply gone."""
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=True)
    (copy / rd.CHECKPOINTS / rd.BEST).unlink()
    assert resolve_checkpoint(copy).path == copy / rd.CHECKPOINTS / _best_name(original)
    _resume_and_check(copy, capsys)


def test_a_best_copy_whose_step_directory_is_gone_becomes_it(original: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    """Only the copy named best holds the best checkpoint: resuming renames it to its step-N."""
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=False)
    name = _best_name(original)
    only = _digest(copy / rd.CHECKPOINTS / rd.BEST)
    shutil.rmtree(copy / rd.CHECKPOINTS / name)
    assert main(resume_cmd(copy)) == 0
    assert _digest(copy / rd.CHECKPOINTS / name) == only
    assert (copy / rd.CHECKPOINTS / rd.BEST).is_symlink()


def test_a_best_that_differs_from_its_step_is_refused(original: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=False)
    best = copy / rd.CHECKPOINTS / rd.BEST
    (best / "metadata.json").write_text((best / "metadata.json").read_text().replace("{", '{"x": 1, ', 1))
    before = {**_digest(copy), "best": str(_digest(best))}
    capsys.readouterr()
    assert main(resume_cmd(copy)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{best} is a copy of step {_best_name(original)} that differs" in err[0], err
    assert {**_digest(copy), "best": str(_digest(best))} == before
