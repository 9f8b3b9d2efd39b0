"""Typed records of a run directory: the summary, a checkpoint's trainer state, metrics rows.

`pipelines.runs.run_dir.RunDir` reads the files and hands these out; jobs and reports use
attributes, never the JSON keys, so a key is spelled once: here, in ``from_json``/``to_json``.
Unknown keys of newer files are kept in ``extra`` rather than refused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _known(cls: type, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``data`` into the dataclass's own fields and the rest."""
    names = {f.name for f in fields(cls)} - {"extra"}
    return {k: v for k, v in data.items() if k in names}, {k: v for k, v in data.items() if k not in names}


@dataclass
class RunSummary:
    """What a finished (or stopped) run produced and where it is: ``summary.json``."""

    run_dir: Path
    steps: int
    max_steps: int
    train_bytes: int
    final_loss: float | None
    final_eval_bpb: float | None
    best_eval_bpb: float | None
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    metrics_path: Path
    plot_path: Path | None
    elapsed_s: float
    bytes_per_s: float
    # What stopped the run early: the signal ("SIGINT", "SIGTERM", ...), or "hook" when a caller's
    # `pipelines.training.hooks.TrainingHooks.should_stop` asked for it.
    stopped_by: str | None = None

    @property
    def completed(self) -> bool:
        return self.steps >= self.max_steps

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}
        return {**d, "completed": self.completed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        own, _ = _known(cls, data)
        for key in ("run_dir", "last_checkpoint", "best_checkpoint", "metrics_path", "plot_path"):
            if own.get(key) is not None:
                own[key] = Path(own[key])
        return cls(**own)


@dataclass(frozen=True)
class DataPosition:
    """Where the data order stands: the batch of step ``s`` is a function of these and ``s``."""

    next_sample_index: int
    world_size: int
    batch_size: int
    grad_accum: int
    seq_len: int
    seed: int

    @property
    def step_bytes(self) -> int:
        """Predicted bytes per optimizer step, all ranks."""
        return self.batch_size * self.seq_len * self.grad_accum * self.world_size

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainerState:
    """``trainer_state.json`` of one checkpoint: counters, best eval, data position, schedule, RNG."""

    step: int
    train_bytes: int
    best_eval_bpb: float | None
    best_step: int | None
    last_eval_bpb: float | None
    data_position: DataPosition | None
    schedule: dict[str, Any]  # {"kind": "wsd", "total_steps": N, "lr": ..., ...}: how the lr was planned
    rng: dict[str, Any]  # `pipelines.training.rng.capture_rng_state`
    pretrain_config: dict[str, Any]  # `PretrainConfig.to_dict()` of the run
    torch_version: str | None = None
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def world_size(self) -> int:
        return self.data_position.world_size if self.data_position else 1

    @property
    def schedule_total_steps(self) -> int | None:
        total = self.schedule.get("total_steps")
        return int(total) if total is not None else None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainerState:
        own, extra = _known(cls, data)
        pos = own.get("data_position")
        own["data_position"] = DataPosition(**pos) if isinstance(pos, dict) else None
        for key in ("schedule", "rng", "pretrain_config"):
            own.setdefault(key, {})
        for key in ("best_eval_bpb", "best_step", "last_eval_bpb"):
            own.setdefault(key, None)
        own.setdefault("train_bytes", 0)
        return cls(**own, extra=extra)

    def to_json(self) -> dict[str, Any]:
        """The trainer_state.json object, keys in the order the trainer has always written them."""
        return {
            "version": self.version, "step": self.step, "train_bytes": self.train_bytes,
            **({"data_position": self.data_position.to_json()} if self.data_position else {}),
            "best_eval_bpb": self.best_eval_bpb, "best_step": self.best_step,
            "last_eval_bpb": self.last_eval_bpb, "schedule": self.schedule, "rng": self.rng,
            "torch_version": self.torch_version, "pretrain_config": self.pretrain_config, **self.extra,
        }


def _set_fields(record: Any) -> dict[str, Any]:
    """A metrics row's own fields in declaration order; optional ones only when set (a train row
    holds timing on logged steps only), then ``extra``."""
    out: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name != "extra" and not (value is None and f.default is None):
            out[f.name] = value
    return {**out, **record.extra}


@dataclass(frozen=True)
class TrainRecord:
    """One ``kind: train`` line of metrics.jsonl: an optimizer step (timing on logged steps only)."""

    step: int
    train_bytes: int
    loss: float
    ce_loss: float | None = None
    bpb: float | None = None  # ce_loss in bits
    ratio_loss: float | None = None
    compression: list[float] = field(default_factory=list)  # bytes per chunk, per stage
    lr: float | None = None
    grad_norm: float | None = None
    bytes_per_s: float | None = None  # all ranks, since the previous logged step
    tflops: float | None = None  # achieved training TFLOP/s (the model's own FLOPs estimate)
    mfu: float | None = None  # tflops over the devices' peak, when train.peak_tflops is given
    elapsed_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys of newer versions

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainRecord:
        own, extra = _known(cls, data)
        extra.pop("kind", None)
        return cls(**own, extra=extra)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "train", **_set_fields(self)}


@dataclass(frozen=True)
class EvalRecord:
    """One ``kind: eval`` line of metrics.jsonl: held-out bits/byte after ``step`` steps."""

    step: int
    train_bytes: int
    eval_bpb: float
    eval_bytes: int | None = None
    eval_compression: list[float] = field(default_factory=list)
    eval_window_bpb: list[float] | None = None  # each window's bits/byte (train.eval_window_scores)
    best: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRecord:
        own, extra = _known(cls, data)
        extra.pop("kind", None)
        return cls(**own, extra=extra)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "eval", **_set_fields(self)}
