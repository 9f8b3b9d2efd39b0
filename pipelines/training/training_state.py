"""The trainer's own state between checkpoints: counters, best eval, data position, RNG states.

Everything here goes to ``trainer_state.json`` beside the model and optimizer files; together
they are all that changes during a run, which is why restoring them continues it exactly.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pipelines.errors import JobFailed
from pipelines.runs import run_dir as rd
from pipelines.training.distributed import DistEnv
from pipelines.training.train_config import PretrainConfig

STATE_VERSION = 1


class TrainingDiverged(JobFailed):
    """The loss or gradient norm became NaN/inf; the run stops and keeps its last checkpoint."""


@dataclass
class TrainState:
    step: int = 0  # optimizer steps completed
    train_bytes: int = 0  # predicted bytes seen, all ranks
    best_eval_bpb: float | None = None
    best_step: int | None = None
    last_eval_bpb: float | None = None
    last_checkpoint: Path | None = None
    world_size: int = 1
    step_bytes: int = 0
    schedule_steps: int = 0  # total steps the lr schedule is planned over (resume.plan_schedule)

    def to_json(self, cfg: PretrainConfig) -> dict[str, Any]:
        t = cfg.train
        return {
            "version": STATE_VERSION,
            "step": self.step,
            "train_bytes": self.train_bytes,
            # Window index of the next sample: ((step * grad_accum + micro) * world + rank) * batch + b.
            "data_position": {"next_sample_index": self.step * t.grad_accum * self.world_size * t.batch_size,
                              "world_size": self.world_size, "batch_size": t.batch_size,
                              "grad_accum": t.grad_accum, "seq_len": t.seq_len, "seed": t.seed},
            "best_eval_bpb": self.best_eval_bpb,
            "best_step": self.best_step,
            "last_eval_bpb": self.last_eval_bpb,
            "schedule": {"kind": "wsd", "total_steps": self.schedule_steps, "lr": t.lr,
                         "min_lr_ratio": t.min_lr_ratio,
                         "warmup_fraction": t.warmup_fraction, "warmup_steps": t.warmup_steps,
                         "decay_fraction": t.decay_fraction, "decay_shape": t.decay_shape},
            "rng": rd.capture_rng_state(),
            "torch_version": torch.__version__,
            "pretrain_config": cfg.to_dict(),
        }


def restore(ckpt: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, env: DistEnv,
            step_bytes: int, schedule_steps: int) -> TrainState:
    """Load weights, AdamW moments, RNG states and counters of ``ckpt`` into a fresh run."""
    from hnet_bio.checkpoint import load_pretrained

    loaded, _ = load_pretrained(ckpt, map_location="cpu")
    model.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    opt.load_state_dict(rd.load_optimizer_state(ckpt, map_location=env.device))
    js = rd.load_trainer_state(ckpt)
    rd.restore_rng_state(js["rng"])
    pos = js["data_position"]
    if pos["world_size"] != env.world_size and env.is_main:
        print(f"pretrain: warning: resuming a {pos['world_size']}-process run with {env.world_size} "
              "process(es); the data order from here on differs from the original run", file=sys.stderr)
    return TrainState(step=js["step"], train_bytes=js["train_bytes"], best_eval_bpb=js["best_eval_bpb"],
                      best_step=js["best_step"], last_eval_bpb=js.get("last_eval_bpb"),
                      last_checkpoint=ckpt, world_size=env.world_size, step_bytes=step_bytes,
                      schedule_steps=schedule_steps)


def build_metadata(corpus: Any, cfg: PretrainConfig) -> dict[str, Any]:
    """What a checkpoint's metadata.json says about its data: modality, byte convention, source."""
    describe = corpus.describe() if hasattr(corpus, "describe") else {}
    modality = getattr(corpus, "modality", describe.get("modality"))
    convention = describe.get("byte_convention") or {
        "dna": "ascii-upper", "audio": "mulaw-8bit"}.get(str(modality), "raw")
    meta = {"modality": modality, "byte_convention": convention, "corpus": describe,
            "seq_len": cfg.train.seq_len, "trained_by": "hnet-bio pretrain"}
    if getattr(corpus, "sample_rate", None):
        meta["sample_rate"] = corpus.sample_rate
    return meta
