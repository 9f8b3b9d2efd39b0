"""How a caller watches the training loop and asks it to stop: `TrainingHooks`.

The loop (`pipelines.training.loop`) calls the hooks on every rank after each optimizer step,
with that step's `TrainRecord` (the row metrics.jsonl gets; timing fields only on logged steps):

- ``on_step(record)``: observe (progress lines, a test's list of steps). Its return value is ignored.
- ``should_stop(record)``: return True to end the run after this step the way a SIGTERM does: a
  checkpoint of this step is written, then ``summary.json`` with ``stopped_by == "hook"``, and
  `pretrain` returns normally (``summary.completed`` is False). ``--resume`` continues exactly as
  if the run had never stopped. Under DDP the run stops when any rank asks.

`hnet-bio compare` drives its arms this way. No exception is part of the protocol: one raised by
a hook propagates like any other error, and the run keeps only its earlier checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.runs.records import TrainRecord

HOOK_STOP = "hook"  # RunSummary.stopped_by of a run ended by `TrainingHooks.should_stop`


@dataclass(frozen=True)
class TrainingHooks:
    """Callbacks of the training loop; each may be None. See the module docstring for when they run."""

    on_step: Callable[[TrainRecord], object] | None = None
    should_stop: Callable[[TrainRecord], bool] | None = None

    def after_step(self, record: TrainRecord) -> bool:
        """Run both hooks for ``record``; True when the caller asks the run to stop."""
        if self.on_step is not None:
            self.on_step(record)
        return self.should_stop is not None and bool(self.should_stop(record))
