"""Which checkpoints a user can pick by name: the shipped models, run directories under runs/, paths.

The browser and `hnet-bio browse` take one string. It is, in this order: an existing path (a
checkpoint directory, or a run directory whose newest checkpoint is taken), the name of a run under
``runs/`` (``runs/NAME/checkpoints/<newest>``), or anything else, handed to
`hnet_bio.checkpoint.load_pretrained` unchanged so that shipped model names resolve there (one
place, `hnet_bio.shipped`, decides what a shipped name means).
"""

from __future__ import annotations

import os
from pathlib import Path

from hnet_bio.checkpoint import CONFIG_FILE, WEIGHTS_FILE
from hnet_bio.shipped import shipped_models

DEFAULT_DNA_CHECKPOINT = "dna-bacteria-small"
DEFAULT_AUDIO_CHECKPOINT = "audio-speech-small"
RUNS_DIR = Path("runs")


def is_checkpoint_dir(path: Path) -> bool:
    return path.is_dir() and (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint of a run directory (by step name order, ``best`` if nothing else), or None."""
    ckdir = run_dir / "checkpoints"
    if not ckdir.is_dir():
        return None
    found = sorted(p for p in ckdir.iterdir() if p.name.startswith("step-") and is_checkpoint_dir(p))
    if found:
        return found[-1]
    best = ckdir / "best"
    return best if is_checkpoint_dir(best) else None


def run_names(runs_dir: Path = RUNS_DIR) -> list[str]:
    """Runs under ``runs_dir`` that hold at least one checkpoint, sorted."""
    if not runs_dir.is_dir():
        return []
    return sorted(p.name for p in runs_dir.iterdir() if p.is_dir() and newest_checkpoint(p) is not None)


def checkpoint_choices(runs_dir: Path = RUNS_DIR) -> list[str]:
    """What a picker lists: shipped names, then ``runs/NAME`` for each run with a checkpoint."""
    return shipped_models() + [str(runs_dir / n) for n in run_names(runs_dir)]


def resolve(spec: str | os.PathLike[str], runs_dir: Path = RUNS_DIR) -> str:
    """The string to hand to `load_pretrained` for what the user typed (see the module docstring)."""
    text = os.fspath(spec).strip()
    path = Path(text).expanduser()
    if path.exists():
        if not is_checkpoint_dir(path):
            newest = newest_checkpoint(path)
            if newest is not None:
                return str(newest)
        return str(path)
    run = runs_dir / text
    if text and run.is_dir() and (newest := newest_checkpoint(run)) is not None:
        return str(newest)
    return text
