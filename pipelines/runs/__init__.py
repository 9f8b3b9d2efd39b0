"""Run directories of ``hnet-bio pretrain`` and which checkpoint a user meant.

- `run_dir`: `RunDir`, the one owner of a run's file names; atomic checkpoints, the ``best``
  pointer, rotation, and the fault hook the interruption tests use
- `records`: the typed records a run holds (`RunSummary`, `TrainerState`, `TrainRecord`, `EvalRecord`)
- `resolve`: `resolve_checkpoint`, the one resolver behind every ``--checkpoint`` and the browser
"""
