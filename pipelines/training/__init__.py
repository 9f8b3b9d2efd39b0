"""Pretraining as a library: `loop.pretrain` is what `hnet-bio pretrain` (pipelines/pretrain.py)
and `hnet-bio compare` (pipelines/comparison/runner.py) call. Other jobs reuse some pieces:
`evaluation` (held-out bits per byte), `train_config` (recipes), `distributed` (DistEnv).

- `loop`: `pretrain()` and the loop's phases (step, evaluate_and_save, finish) and `format_summary`
- `run_setup`: the set-up phase: `prepare_run_dir`, `set_up` -> `TrainingRun` (what the phases share)
- `hooks`: `TrainingHooks`, how a caller watches every step and asks the run to stop
- `train_config`: recipes (dataclasses), `read_config` (recipes, model configs, runs), dotted overrides
- `training_data`: the recipe's splits and windows, checked before anything is written
- `schedule`: warmup-stable-decay learning rate
- `train_step`: one optimizer step (micro-batches, autocast, clipping) and the window order
- `evaluation`: held-out bits per byte over fixed contiguous windows
- `training_state`: the loop's counters and what a checkpoint stores to resume bit for bit
- `rng`: seeding, capturing and restoring every random generator
- `resume`: what --resume refuses, and how it continues the schedule (train.extend)
- `distributed`: DDP set-up (one process or torchrun)
- `metrics`: metrics.jsonl writer, console progress, the step clock, the loss plot
- `preemption`: SIGTERM/SIGINT -> checkpoint and stop

The run directory itself (file names, atomic checkpoints, typed records) is `pipelines.runs`.
"""
