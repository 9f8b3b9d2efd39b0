"""The pieces of `hnet-bio pretrain` (pipelines/pretrain.py), kept apart so `pipelines/` shows one
module per job. Other jobs reuse some of them: `evaluation` (held-out bits per byte), `run_dir`
(reading a run's checkpoints), `metrics` (metrics.jsonl).

- `train_config`: recipes (dataclasses), YAML/JSON loading, dotted overrides
- `schedule`: warmup-stable-decay learning rate
- `train_step`: one optimizer step (micro-batches, autocast, clipping)
- `evaluation`: held-out bits per byte over fixed contiguous windows
- `training_state`: what a checkpoint stores to resume bit for bit
- `run_dir`: atomic checkpoints, rotation, RNG state capture
- `distributed`: DDP set-up (one process or torchrun)
- `metrics`: metrics.jsonl, console lines, the loss plot
- `preemption`: SIGTERM/SIGINT -> checkpoint and stop
- `resume`: what --resume refuses, and how it continues the schedule (train.extend)
"""
