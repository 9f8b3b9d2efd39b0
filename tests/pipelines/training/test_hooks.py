"""`TrainingHooks`: a caller watches every step with typed records and stops a run without any
exception; the stopped run checkpoints and resumes exactly like an uninterrupted one. Also the
`train.recompute` recipe key (activation recomputation: same numbers, recorded in the run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hnet_bio.recompute import set_recompute
from pipelines.runs import run_dir as rd
from pipelines.runs.records import TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training import run_setup
from pipelines.training.hooks import HOOK_STOP, TrainingHooks
from pipelines.training.loop import pretrain
from pipelines.training.train_config import read_config
from tests.pipelines.training.test_pretrain import DNA, TIMING, tiny


def _without_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_hook_stop_checkpoints_and_resumes_like_an_uninterrupted_run(tmp_path: Path) -> None:
    """should_stop at step 5 (no save or eval due there): a checkpoint of step 5, summary.json saying
    "hook", a normal return; --resume then ends bit for bit where the straight run ends."""
    cfg = tiny(max_steps=8, save_every=2, keep_last=2, eval_every=4)
    straight = pretrain(cfg, DNA, tmp_path / "a", verbose=False)

    seen: list[TrainRecord] = []
    hooks = TrainingHooks(on_step=seen.append, should_stop=lambda rec: rec.step == 5)
    stopped = pretrain(cfg, DNA, tmp_path / "b", verbose=False, hooks=hooks)
    run = RunDir(tmp_path / "b")
    assert [r.step for r in seen] == [1, 2, 3, 4, 5]
    assert not stopped.completed and stopped.stopped_by == HOOK_STOP and stopped.steps == 5
    assert stopped.last_checkpoint == run.checkpoint_path(5) and run.summary() == stopped
    # The hook saw exactly the rows metrics.jsonl holds (log_every 1: every step is logged).
    assert [r.to_json() for r in seen] == run.read_metrics("train")

    resumed = pretrain(None, None, run.path, resume=True, verbose=False)
    assert resumed.completed and resumed.stopped_by is None
    ref = RunDir(tmp_path / "a")
    assert _without_timing(run.read_metrics()) == _without_timing(ref.read_metrics())
    assert [p.name for _, p in run.checkpoints()] == [p.name for _, p in ref.checkpoints()]
    assert run.best_checkpoint().name == ref.best_checkpoint().name
    wa = load_file(straight.last_checkpoint / "model.safetensors")
    wb = load_file(resumed.last_checkpoint / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert rd.load_trainer_state(straight.last_checkpoint) == rd.load_trainer_state(resumed.last_checkpoint)


def test_hook_stop_at_the_last_step_is_a_completed_run(tmp_path: Path) -> None:
    """Asking to stop when nothing is left to train changes nothing: the run simply completes."""
    s = pretrain(tiny(max_steps=2, eval_every=0), DNA[0], tmp_path / "run", verbose=False,
                 hooks=TrainingHooks(should_stop=lambda rec: rec.step == 2))
    assert s.completed and s.stopped_by is None


def test_recompute_key_same_losses_and_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """train.recompute true: the same two losses as without (float tolerance: the same ops run
    twice), the modules switched (set_recompute called on the model), and the key saved in the run."""
    switched: list[int] = []

    def spy(model: torch.nn.Module, enabled: bool = True) -> int:
        switched.append(set_recompute(model, enabled))
        return switched[-1]

    monkeypatch.setattr(run_setup, "set_recompute", spy)
    off = pretrain(tiny(max_steps=2, eval_every=0), DNA[0], tmp_path / "off", verbose=False)
    assert switched == []
    on = pretrain(tiny(max_steps=2, eval_every=0, recompute=True), DNA[0], tmp_path / "on", verbose=False)
    assert switched and switched[0] > 0
    a, b = RunDir(tmp_path / "off").train_records(), RunDir(tmp_path / "on").train_records()
    assert [r.loss for r in b] == pytest.approx([r.loss for r in a], rel=1e-6, abs=1e-7)
    assert on.final_loss == pytest.approx(off.final_loss, rel=1e-6, abs=1e-7)
    assert read_config(tmp_path / "on").train.recompute is True
    assert read_config(tmp_path / "off").train.recompute is False
    state = RunDir(tmp_path / "on").trainer_state(on.last_checkpoint)
    assert state.pretrain_config["train"]["recompute"] is True
