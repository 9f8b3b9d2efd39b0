"""What ``--resume`` may change, what it refuses, and how the learning-rate schedule continues.

A resumed run is the same run: same model, same modality and byte convention (the "vocabulary"
of the bytes), same schedule. Changing the data files within a modality, or knobs such as the
eval cadence, is fine. Anything else would silently train one model across two kinds of data and
compare its held-out bits/byte across them ("best" of an audio eval against a DNA one), so it is
refused with one line before anything is loaded or written.

The schedule: warmup-stable-decay is a pure function of (step, total steps). Raising
``train.max_steps`` (or ``byte_budget``) on resume while the run is still in its warmup or stable
phase simply re-plans the schedule (the decay moves later, nothing jumps). Once the decay has
begun, a new total would jump the learning rate back up from a decayed value; that is refused
unless ``--train.extend true``, which keeps the original schedule and runs the extra steps at its
final learning rate (``lr x min_lr_ratio``), the usual way to extend a finished WSD run. To re-warm
instead, branch a new run from a checkpoint of the stable phase.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hnet_bio.checkpoint import CONFIG_FILE, read_metadata
from hnet_bio.config import HNetConfig
from hnet_bio.metadata import CheckpointMetadata
from pipelines.errors import UsageError
from pipelines.runs.records import TrainerState
from pipelines.training.schedule import WSDSchedule
from pipelines.training.train_config import PretrainConfig, TrainConfig, from_dict

# Model-config keys a recipe's train section may change on resume (they shape no weight).
TRAINING_ONLY_KEYS = ("target_ratio", "ratio_loss_weight", "lr_multiplier")


def check_same_run(run: Path, ckpt: Path, cfg: PretrainConfig, meta: CheckpointMetadata) -> None:
    """Refuse (UsageError, one line) a resume whose modality, byte convention, sample rate or model
    differs from what checkpoint ``ckpt`` was trained with; ``meta`` describes the data now."""
    saved = read_metadata(ckpt)
    differs = (saved.modality != meta.modality
               or (saved.byte_convention is not None and saved.byte_convention != meta.byte_convention)
               or (saved.sample_rate is not None and saved.sample_rate != meta.sample_rate))
    if differs:
        raise UsageError(f"cannot resume {run}: its checkpoint {ckpt.name} was trained on "
                         f"{_data_kind(saved)}, the data now is {_data_kind(meta)}; a run keeps one kind of "
                         "data: start a new run with --out")
    old = _architecture(HNetConfig.from_json(ckpt / CONFIG_FILE).to_dict())
    new = _architecture(HNetConfig.from_dict(cfg.model_config_dict()).to_dict())
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            raise UsageError(f"cannot resume {run}: the model differs from its checkpoint {ckpt.name} "
                             f"({key}: {old.get(key)!r} there, {new.get(key)!r} now); "
                             "start a new run with --out")


def _data_kind(meta: CheckpointMetadata) -> str:
    """'dna bytes (ascii-upper)' / 'audio bytes (mulaw-8bit, 16000 Hz)': what must not change."""
    parts = [meta.byte_convention or "unrecorded convention"]
    if meta.is_audio:
        parts.append(f"{meta.sample_rate} Hz")
    return f"{meta.modality} bytes ({', '.join(parts)})"


def _architecture(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flattened model config minus the training-only keys: {'d_model': [32, 48], 'ssm_cfg.d_state': 16}."""
    flat: dict[str, Any] = {}
    for key, value in d.items():
        if key in TRAINING_ONLY_KEYS and prefix == "hnet_bio.":
            continue
        if isinstance(value, dict):
            flat.update(_architecture(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def saved_schedule_steps(trainer_state: TrainerState) -> int:
    """The total steps a checkpoint's schedule was planned over (older checkpoints: from its recipe)."""
    if trainer_state.schedule_total_steps:
        return trainer_state.schedule_total_steps
    train = from_dict(trainer_state.pretrain_config).train
    if train.byte_budget and trainer_state.data_position is not None:
        return math.ceil(train.byte_budget / trainer_state.data_position.step_bytes)
    return int(train.max_steps)


def _wsd(total: int, t: TrainConfig) -> WSDSchedule:
    return WSDSchedule.from_fractions(total, t.warmup_fraction, t.decay_fraction, t.min_lr_ratio,
                                      t.decay_shape, t.warmup_steps)


def plan_schedule(run: Path, trainer_state: TrainerState, max_steps: int,
                  t: TrainConfig) -> tuple[int, str | None]:
    """Total steps the resumed schedule runs over, and a note for the user when it changed.

    Same total: unchanged. No decayed step taken yet: re-planned for ``max_steps``. Decay begun: the
    old total with ``train.extend`` (later steps at the final lr), else UsageError.
    """
    step = trainer_state.step
    old = saved_schedule_steps(trainer_state)
    if old == max_steps or step >= max_steps:
        return old, None
    decay_start = old - _wsd(old, t).decay_steps  # steps done before the first decayed one
    if step <= decay_start:  # nothing decayed yet: re-planning changes no lr already used
        new_decay = max_steps - _wsd(max_steps, t).decay_steps
        return max_steps, (f"learning-rate schedule re-planned from {old} to {max_steps} steps "
                           f"(decay from step {new_decay})")
    if t.extend:
        return old, (f"train.extend: the {old}-step schedule is kept; steps after {old} run at its final "
                     f"learning rate {t.lr * t.min_lr_ratio:.3g}")
    raise UsageError(f"cannot resume {run} with {max_steps} steps: its {old}-step schedule began its decay "
                     f"after step {decay_start} (checkpoint at step {step}), and a new total would raise the "
                     "learning rate again; add --train.extend true to continue at the final learning rate, "
                     f"or start a new run from a checkpoint at or before step {decay_start}")
