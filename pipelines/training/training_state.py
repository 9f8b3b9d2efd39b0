"""The trainer's own state between checkpoints: counters, best eval, data position, RNG states.

Everything here goes to ``trainer_state.json`` (`pipelines.runs.records.TrainerState`) beside the
model and optimizer files; together they are all that changes during a run, which is why
restoring them continues it exactly.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.metadata import ASCII_UPPER, MULAW_8BIT, CheckpointMetadata
from modalities.corpora import Corpus
from pipelines.errors import JobFailed
from pipelines.runs import run_dir as rd
from pipelines.runs.records import DataPosition, TrainerState
from pipelines.training.distributed import DistEnv
from pipelines.training.rng import capture_rng_state, restore_rng_state
from pipelines.training.train_config import PretrainConfig

STATE_VERSION = 1
TRAINED_BY = "hnet-bio pretrain"
BYTE_CONVENTIONS = {"dna": ASCII_UPPER, "audio": MULAW_8BIT}  # what `modalities` makes of each kind of file


class TrainingDiverged(JobFailed):
    """The loss or gradient norm became NaN/inf; the run stops and keeps its last checkpoint."""


@dataclass
class TrainState:
    """The loop's counters (mutable); `record` turns them into a checkpoint's `TrainerState`."""

    step: int = 0  # optimizer steps completed
    train_bytes: int = 0  # predicted bytes seen, all ranks
    best_eval_bpb: float | None = None
    best_step: int | None = None
    last_eval_bpb: float | None = None
    last_checkpoint: Path | None = None
    world_size: int = 1
    step_bytes: int = 0
    schedule_steps: int = 0  # total steps the lr schedule is planned over (resume.plan_schedule)

    def record(self, cfg: PretrainConfig) -> TrainerState:
        """What a checkpoint of this moment stores, the RNG states captured now."""
        t = cfg.train
        return TrainerState(
            version=STATE_VERSION, step=self.step, train_bytes=self.train_bytes,
            # Window index of the next sample: ((step * grad_accum + micro) * world + rank) * batch + b.
            data_position=DataPosition(
                next_sample_index=self.step * t.grad_accum * self.world_size * t.batch_size,
                world_size=self.world_size, batch_size=t.batch_size, grad_accum=t.grad_accum,
                seq_len=t.seq_len, seed=t.seed),
            best_eval_bpb=self.best_eval_bpb, best_step=self.best_step, last_eval_bpb=self.last_eval_bpb,
            schedule={"kind": "wsd", "total_steps": self.schedule_steps, "lr": t.lr,
                      "min_lr_ratio": t.min_lr_ratio,
                      "warmup_fraction": t.warmup_fraction, "warmup_steps": t.warmup_steps,
                      "decay_fraction": t.decay_fraction, "decay_shape": t.decay_shape},
            rng=capture_rng_state(), torch_version=torch.__version__, pretrain_config=cfg.to_dict())


def restore(ckpt: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, env: DistEnv,
            step_bytes: int, schedule_steps: int) -> TrainState:
    """Load weights, AdamW moments, RNG states and counters of ``ckpt`` into a fresh run."""
    loaded, _ = load_pretrained(ckpt, map_location="cpu")
    model.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    opt.load_state_dict(rd.load_optimizer_state(ckpt, map_location=env.device))
    saved = rd.read_trainer_state(ckpt)
    restore_rng_state(saved.rng)
    if saved.world_size != env.world_size and env.is_main:
        print(f"pretrain: warning: resuming a {saved.world_size}-process run with {env.world_size} "
              "process(es); the data order from here on differs from the original run", file=sys.stderr)
    return TrainState(step=saved.step, train_bytes=saved.train_bytes, best_eval_bpb=saved.best_eval_bpb,
                      best_step=saved.best_step, last_eval_bpb=saved.last_eval_bpb,
                      last_checkpoint=ckpt, world_size=env.world_size, step_bytes=step_bytes,
                      schedule_steps=schedule_steps)


def build_metadata(corpus: Corpus, cfg: PretrainConfig) -> CheckpointMetadata:
    """What a checkpoint's metadata.json says about its data: modality, byte convention, source."""
    return CheckpointMetadata(modality=corpus.modality, byte_convention=BYTE_CONVENTIONS[corpus.modality],
                              corpus=corpus.describe(),
                              seq_len=cfg.train.seq_len, trained_by=TRAINED_BY,
                              sample_rate=corpus.sample_rate or None)
