"""`RunDir` and its typed records read back what a real tiny run wrote: the summary, every
checkpoint's trainer state and every metrics row equal the JSON on disk, and written back through
the records they give the same bytes (so the trainer can write through them without changing a file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hnet_bio.checkpoint import load_pretrained, read_metadata
from hnet_bio.errors import ConfigError
from pipelines.runs import run_dir as rd
from pipelines.runs.records import EvalRecord, RunSummary, TrainerState, TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training.loop import pretrain
from pipelines.training.train_config import read_config
from tests.pipelines.training.test_pretrain import DNA, tiny


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunDir, RunSummary]:
    """Six steps, evaluations at 0/3/6, checkpoints at 2/4/6 (two kept, plus the best)."""
    path = tmp_path_factory.mktemp("runs") / "run"
    summary = pretrain(tiny(max_steps=6, eval_every=3, save_every=2, keep_last=2, log_every=2), DNA, path,
                       verbose=False)
    return RunDir(path), summary


def test_summary_reads_back_what_was_written(tiny_run: tuple[RunDir, RunSummary]) -> None:
    run, returned = tiny_run
    on_disk = json.loads(run.summary_path.read_text())
    assert run.summary() == returned
    assert returned.to_json() == on_disk and list(returned.to_json()) == list(on_disk)
    assert on_disk["completed"] is True and returned.metrics_path == run.metrics_path
    assert returned.last_checkpoint == run.latest_checkpoint() == run.checkpoint_path(6)
    assert returned.best_checkpoint == run.best_checkpoint()


def test_trainer_state_of_every_checkpoint(tiny_run: tuple[RunDir, RunSummary]) -> None:
    run, _ = tiny_run
    best = run.trainer_state(run.latest_checkpoint()).best_step
    assert [s for s, _ in run.checkpoints()] == sorted({best, 4, 6})  # the last two and the best
    for step, ckpt in run.checkpoints():
        on_disk = rd.load_trainer_state(ckpt)
        state = run.trainer_state(ckpt)
        assert isinstance(state, TrainerState) and state.step == step == on_disk["step"]
        assert state.to_json() == on_disk and list(state.to_json()) == list(on_disk)  # same key order
        assert (ckpt / rd.TRAINER_STATE_FILE).read_text() == json.dumps(state.to_json(), indent=1) + "\n"
        assert state.train_bytes == step * 2 * 64 and state.data_position.world_size == 1
        assert state.data_position.step_bytes == 2 * 64
        assert state.schedule_total_steps == 6 and state.extra == {}
        assert state.pretrain_config == run.read_config()  # the recipe, as pretrain_config.json holds it


def test_metrics_rows_typed_and_byte_identical(tiny_run: tuple[RunDir, RunSummary]) -> None:
    run, _ = tiny_run
    train, evals = run.train_records(), run.eval_records()
    assert [r.step for r in train] == [2, 4, 6] and all(isinstance(r, TrainRecord) for r in train)
    assert all(r.bytes_per_s and r.elapsed_s is not None and r.extra == {} for r in train)
    assert [(r.step, r.train_bytes) for r in evals] == [(0, 0), (3, 384), (6, 768)]
    assert all(isinstance(r, EvalRecord) and r.eval_bytes == 6 * 64 for r in evals)
    assert evals[0].best and [r.best for r in evals] == [r.eval_bpb == min(e.eval_bpb for e in evals[: i + 1])
                                                          for i, r in enumerate(evals)]
    rows = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    assert run.read_metrics() == rows
    typed = [(TrainRecord if r["kind"] == "train" else EvalRecord).from_json(r) for r in rows]
    assert "".join(json.dumps(t.to_json()) + "\n" for t in typed) == run.metrics_path.read_text()


def test_truncate_metrics_and_a_torn_line(tmp_path: Path) -> None:
    """A kill mid-write leaves a torn last line: it is skipped on read; truncation keeps steps <= N."""
    run = RunDir(tmp_path)
    rows = [TrainRecord(step=s, train_bytes=128 * s, loss=1.0 / s).to_json() for s in (1, 2, 3)]
    run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"kind": "tra')
    assert run.train_records() == [TrainRecord.from_json(r) for r in rows]
    run.truncate_metrics(2)
    assert run.read_metrics() == rows[:2]


def test_save_checkpoint_best_and_rotation(tiny_run: tuple[RunDir, RunSummary], tmp_path: Path) -> None:
    """The checkpoint bookkeeping the loop uses in one call: write, point best at it, keep last K + best."""
    run, _ = tiny_run
    copy = RunDir(tmp_path / "copy")
    from_ckpt = run.latest_checkpoint()
    model, _ = load_pretrained(from_ckpt)
    opt = torch.optim.AdamW(model.parameters())
    state = run.trainer_state(from_ckpt)
    meta = read_metadata(from_ckpt)
    for step, best in ((2, True), (4, False), (6, False)):
        copy.save_checkpoint(step, model, opt, state, meta, best=best, keep_last=1, best_step=2)
    assert [s for s, _ in copy.checkpoints()] == [2, 6] and copy.best_checkpoint().name == rd.step_dir_name(2)
    assert copy.trainer_state(copy.checkpoint_path(6)) == state
    assert read_metadata(copy.checkpoint_path(6)) == meta.replace(model_class=type(model).__name__)


def test_read_config_of_a_run(tiny_run: tuple[RunDir, RunSummary], tmp_path: Path) -> None:
    """One reader: the run directory, its pretrain_config.json, and the recipe it was made from give
    the same config; a directory that is not a run is one line."""
    run, _ = tiny_run
    cfg = read_config(run.path)
    assert read_config(run.config_path) == cfg
    assert json.loads(json.dumps(cfg.to_dict())) == run.read_config()
    assert cfg.train == tiny(max_steps=6, eval_every=3, save_every=2, keep_last=2, log_every=2).train
    assert read_config(run.path, {"train.lr": "1e-3"}).train.lr == 1e-3
    with pytest.raises(ConfigError, match="not a pretraining run"):
        read_config(tmp_path)
