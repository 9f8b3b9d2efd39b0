"""Real write failures inside the libraries that write checkpoints (safetensors, ``torch.save``):
one line, exit status 1, earlier checkpoints byte-identical, no temporary left.

tests/pipelines/training/test_output_safety.py injects ``OSError(ENOSPC)`` where the file writers
would raise it; that misses what the real libraries raise (safetensors its own ``SafetensorError``,
``torch.save`` a ``RuntimeError``). Here nothing is injected: the process's file-size limit
(``RLIMIT_FSIZE``, settable without root, unlike a full file system) makes the kernel refuse the
write with ``EFBIG``, and Python ignores ``SIGXFSZ``, so the write fails as on a full disk.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from hnet_bio.atomic import atomic_write, os_error_of, os_errors_of_writers
from pipelines.cli import main
from pipelines.runs import run_dir as rd
from tests.pipelines.training.test_pretrain import DNA, tiny


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Files this process writes may not grow past ``limit`` bytes (restored on exit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_library_write_errors_carry_the_os_error(tmp_path: Path) -> None:
    """What the real libraries raise under the limit, and what `os_errors_of_writers` makes of it."""
    big = {"w": torch.zeros(100_000)}  # 400 kB
    with file_size_limit(50_000):
        with pytest.raises(Exception) as raw:
            save_file(big, str(tmp_path / "a.safetensors"))
        assert not isinstance(raw.value, OSError)  # why the conversion is needed
        found = os_error_of(raw.value)
        assert found is not None and found.errno == errno.EFBIG
        with pytest.raises(OSError) as conv, os_errors_of_writers(tmp_path / "b.pt"), \
                atomic_write(tmp_path / "b.pt") as fh:
            torch.save(big, fh)
    assert conv.value.errno == errno.EFBIG and conv.value.filename == str(tmp_path / "b.pt")
    assert not (tmp_path / "b.pt").exists() and not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("where,limit", [("weights", 200_000), ("optimizer", 600_000)])
def test_real_write_failure_in_a_checkpoint_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        where: str, limit: int) -> None:
    """The tiny model's weights are 433 kB and its AdamW state 903 kB: a limit of 200 kB stops the
    weights file, 600 kB the optimizer file, of step 4's checkpoint (step 2's was written before)."""
    run = tmp_path / "run"
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(tiny(max_steps=2, eval_every=0, save_every=2).to_dict()))
    assert main(["pretrain", "--config", str(recipe), "--data", DNA[0], "--out", str(run), "-q"]) == 0
    step2 = run / rd.CHECKPOINTS / rd.step_dir_name(2)
    before = _tree(step2)
    capsys.readouterr()
    with file_size_limit(limit):
        rc = main(["pretrain", "--resume", str(run), "--train.max_steps", "4", "-q"])
    err = capsys.readouterr().err
    *notes, line = err.strip().splitlines()
    assert rc == 1 and "Traceback" not in err, err
    assert notes == ["pretrain: learning-rate schedule re-planned from 2 to 4 steps (decay from step 3)"]
    assert line.startswith(f"hnet-bio pretrain: error: cannot write checkpoint "
                               f"{run / rd.CHECKPOINTS / rd.step_dir_name(4)}: File too large"), line
    assert f"newest: {step2}" in line and f"--resume {run}" in line and ".tmp" not in line
    assert _tree(step2) == before
    assert [s for s, _ in rd.list_checkpoints(run)] == [2]
    assert not [p for p in run.rglob(".*")], "a temporary was left behind"
