"""What `--resume` refuses (other data kind, other model, a run copied without symlinks), how it
continues a schedule with a new length (`train.extend`), and what counts as a checkpoint."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from hnet_bio.atomic import atomic_write_json
from pipelines.cli import main
from pipelines.runs import run_dir as rd
from pipelines.runs.run_dir import RunDir
from pipelines.training.loop import pretrain
from pipelines.training.schedule import WSDSchedule
from tests.paths import CONFIGS
from tests.pipelines.training.test_pretrain import AUDIO, DNA, tiny


def _tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _refused(argv: list[str], run: Path, capsys: pytest.CaptureFixture, *needles: str) -> None:
    """Exit 2 with one line holding every needle, and the run directory untouched."""
    before = _tree(run)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(n in err[0] for n in needles), err
    assert _tree(run) == before


def test_resume_refuses_other_modality_vocabulary_or_model(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "audio"
    pretrain(tiny("tiny-isotropic", max_steps=2, eval_every=0), AUDIO, run, verbose=False)
    capsys.readouterr()
    _refused(["pretrain", "--resume", str(run), "--data", DNA[0], "--train.max_steps", "4"], run, capsys,
             f"cannot resume {run}", "audio bytes (mulaw-8bit, 8000 Hz)", "dna bytes (ascii-upper)")
    _refused(["pretrain", "--resume", str(run), "--config", str(CONFIGS / "tiny-1stage.json"),
              "--data", *AUDIO], run, capsys, "the model differs", "arch_layout")

    # Same modality, another byte convention (soft-masked DNA is another vocabulary of bytes).
    dna = tmp_path / "dna"
    pretrain(tiny(max_steps=2, eval_every=0), DNA[0], dna, verbose=False)
    meta_file = dna / rd.CHECKPOINTS / rd.step_dir_name(2) / "metadata.json"
    meta = json.loads(meta_file.read_text())
    atomic_write_json(meta_file, {**meta, "byte_convention": "ascii-softmask"})
    capsys.readouterr()
    _refused(["pretrain", "--resume", str(dna), "--train.max_steps", "4"], dna, capsys,
             "dna bytes (ascii-softmask)", "dna bytes (ascii-upper)")

    atomic_write_json(meta_file, meta)  # other files of the same kind: allowed
    assert main(["pretrain", "--resume", str(dna), "--data", DNA[1], "--train.max_steps", "3", "-q"]) == 0
    assert rd.latest_checkpoint(dna).name == rd.step_dir_name(3)


def test_extend_a_finished_schedule(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """max_steps 4 with the decay from step 2: more steps are refused unless --train.extend, which runs
    them at the final learning rate; a run stopped in its stable phase is simply re-planned."""
    run = tmp_path / "run"
    cfg = tiny(max_steps=4, decay_fraction=0.5, warmup_steps=1, eval_every=0, save_every=2)
    pretrain(cfg, DNA[0], run, verbose=False)
    capsys.readouterr()
    _refused(["pretrain", "--resume", str(run), "--train.max_steps", "6"], run, capsys,
             "4-step schedule began its decay after step 2", "--train.extend true")
    assert main(["pretrain", "--resume", str(run), "--train.max_steps", "6", "--train.extend", "true",
                 "-q"]) == 0
    assert "train.extend: the 4-step schedule is kept" in capsys.readouterr().err
    train = RunDir(run).read_metrics("train")
    final_lr = cfg.train.lr * cfg.train.min_lr_ratio
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]
    assert [r["lr"] for r in train[3:]] == pytest.approx([final_lr] * 3)  # no jump back up
    state = rd.load_trainer_state(rd.latest_checkpoint(run))
    assert state["schedule"]["total_steps"] == 4  # kept, so a later resume continues the same way

    stable = tmp_path / "stable"
    pretrain(tiny(max_steps=8, decay_fraction=0.25, warmup_steps=1, eval_every=0, save_every=2), DNA[0],
                stable, verbose=False, stop_after=2)
    assert main(["pretrain", "--resume", str(stable), "--train.max_steps", "12", "-q"]) == 0
    assert "re-planned from 8 to 12 steps (decay from step 9)" in capsys.readouterr().err
    lrs = [r["lr"] for r in RunDir(stable).read_metrics("train")]
    sched = WSDSchedule.from_fractions(12, 0.05, 0.25, cfg.train.min_lr_ratio, "linear", 1)
    assert lrs[2:] == pytest.approx([cfg.train.lr * sched(s) for s in range(2, 12)])


def test_only_complete_directories_are_checkpoints(tmp_path: Path) -> None:
    """A step directory missing any checkpoint file (torn by an older version's rotation) is neither
    resumed from nor kept; the next rotation removes it; resume continues from the last complete one
    and writes that step again, whole."""
    run = tmp_path / "run"
    cfg = tiny(max_steps=4, eval_every=0, save_every=2, keep_last=5, decay_fraction=0.0)
    pretrain(cfg, DNA[0], run, verbose=False)
    torn = run / rd.CHECKPOINTS / rd.step_dir_name(6)
    for name in rd.CHECKPOINT_FILES:
        shutil.copytree(run / rd.CHECKPOINTS / rd.step_dir_name(4), torn, dirs_exist_ok=True)
        (torn / name).unlink()
        assert rd.latest_checkpoint(run).name == rd.step_dir_name(4), name
    rd.rotate_checkpoints(run, keep_last=1, best_step=4)
    assert sorted(p.name for p in (run / rd.CHECKPOINTS).iterdir()) == ["best", rd.step_dir_name(4)]
    shutil.copytree(run / rd.CHECKPOINTS / rd.step_dir_name(4), torn)
    (torn / "optimizer.pt").unlink()
    assert main(["pretrain", "--resume", str(run), "--train.max_steps", "6", "-q"]) == 0
    assert [r["step"] for r in RunDir(run).read_metrics("train")] == [1, 2, 3, 4, 5, 6]
    assert rd.is_complete(torn) and rd.latest_checkpoint(run) == torn
