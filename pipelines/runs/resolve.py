"""Which checkpoint the user meant: the one resolver every ``--checkpoint`` option and the browser call.

What a user may type, tried in this order:

- a checkpoint directory (config.json + model.safetensors): that directory;
- a run directory of ``hnet-bio pretrain`` (it has ``checkpoints/`` or ``pretrain_config.json``):
  its **best** checkpoint by held-out bits/byte, or its newest when the run never evaluated;
- ``RUN_DIR@best``, ``RUN_DIR@last`` or ``RUN_DIR@STEP`` (e.g. ``runs/dna@500``): that choice
  inside the run, said explicitly;
- the name of a shipped model (``hnet-bio models``), when no file of that name exists.

Why best for a bare run directory: a job that reads a model (evaluate, boundaries, embed,
classify, generate, package, the browser) wants the weights that generalised best, which is
what held-out bits/byte measures; with a schedule that decays to the end, best and last are
usually the same checkpoint. ``@last`` is what ``pretrain --resume`` continues from. A miss
says what the run holds.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hnet_bio.checkpoint import CONFIG_FILE, WEIGHTS_FILE
from hnet_bio.shipped import shipped_model_dir, shipped_models
from pipelines.errors import UsageError
from pipelines.runs.run_dir import CHECKPOINTS, RunDir

DEFAULT_DNA_CHECKPOINT = "dna-bacteria-small"
# What every ``--checkpoint`` option's help says (the same four forms in every command).
CHECKPOINT_HELP = "checkpoint directory, run directory (its best), RUN@last|@STEP, or a shipped model"
RUNS_DIR = Path("runs")  # where the browser's picker looks for runs (relative to where it started)
CHOICES = ("best", "last")
DEFAULT_CHOICE = "best"
_CHOICE = re.compile(r"^(?P<path>.+)@(?P<choice>best|last|\d+)$")


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint directory and how it was found.

    path: the checkpoint directory to load. run: the run directory it was picked from (None for
    a checkpoint directory or a shipped model). choice: "best", "last" or "step N" within the run.
    shipped: the shipped model's name, when it is one.
    """

    path: Path
    spec: str
    run: Path | None = None
    choice: str | None = None
    shipped: str | None = None

    def describe(self) -> str:
        """For a job's first line: what was loaded, said the way the user can type it again."""
        if self.shipped:
            return f"shipped model {self.shipped}"
        if self.run is not None:
            return f"{self.path} ({self.choice} checkpoint of run {self.run})"
        return str(self.path)


def is_checkpoint_dir(path: Path) -> bool:
    return path.is_dir() and (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def resolve_checkpoint(spec: str | os.PathLike[str]) -> ResolvedCheckpoint:
    """The checkpoint ``spec`` names (see the module docstring); UsageError/CheckpointError if none."""
    text = os.fspath(spec).strip()
    if not text:
        raise UsageError("no checkpoint given: give a checkpoint directory, a run directory or a "
                         f"shipped model ({', '.join(shipped_models()) or 'none installed'})")
    path = Path(text).expanduser()
    choice = None
    if not path.exists() and (m := _CHOICE.match(text)):
        path, choice = Path(m["path"]).expanduser(), m["choice"]
        if not path.exists():
            raise UsageError(f"{path}: no such run directory")
    if path.exists():
        if is_checkpoint_dir(path):
            if choice is not None:
                raise UsageError(f"{text}: {path} is a checkpoint directory, not a run; drop @{choice}")
            return ResolvedCheckpoint(path=path, spec=text)
        run = RunDir(path)
        half_a_checkpoint = any((path / name).is_file() for name in (CONFIG_FILE, WEIGHTS_FILE))
        if run.is_run() and not (half_a_checkpoint and not run.checkpoints_path.is_dir()):
            return _within_run(run, choice or DEFAULT_CHOICE, text, explicit=choice is not None)
        raise UsageError(_neither(path))
    return ResolvedCheckpoint(path=shipped_model_dir(text), spec=text, shipped=text)


def _neither(path: Path) -> str:
    """The miss for a path that exists but is neither kind: what a checkpoint directory lacks there."""
    if not path.is_dir():
        return f"{path}: not a checkpoint directory (a file; give the directory that holds {CONFIG_FILE})"
    missing = ", ".join(name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (path / name).is_file())
    lacks = f"no {CHECKPOINTS}/" + ("" if RunDir(path).config_path.is_file() else f" or {RunDir.CONFIG}")
    return f"{path}: not a checkpoint directory (missing {missing}) nor a run directory ({lacks})"


def _within_run(run: RunDir, choice: str, spec: str, explicit: bool) -> ResolvedCheckpoint:
    found: Path | None
    if choice == "best":
        found = run.best_checkpoint()
        if found is None and not explicit:  # a run that never evaluated has no best: its newest
            found, choice = run.latest_checkpoint(), "last"
    elif choice == "last":
        found = run.latest_checkpoint()
    else:
        found = run.checkpoint_at(int(choice))
        choice = f"step {int(choice)}"
    if found is None:
        raise UsageError(f"{spec}: no {choice} checkpoint in {run.path}; {run.describe_checkpoints()}")
    return ResolvedCheckpoint(path=found, spec=spec, run=run.path, choice=choice)


def run_names(runs_dir: Path = RUNS_DIR) -> list[str]:
    """Runs under ``runs_dir`` that hold at least one checkpoint, sorted."""
    if not runs_dir.is_dir():
        return []
    return sorted(p.name for p in runs_dir.iterdir()
                  if p.is_dir() and RunDir(p).latest_checkpoint() is not None)


def checkpoint_choices(runs_dir: Path = RUNS_DIR) -> list[str]:
    """What a picker lists: shipped names, then ``runs/NAME`` for each run with a checkpoint."""
    return shipped_models() + [str(runs_dir / n) for n in run_names(runs_dir)]
