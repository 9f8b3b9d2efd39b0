"""Repairing a run whose ``best`` symlink a copying tool dereferenced (``cp -r``, rsync without
``-l``, ``scp -r``, zip, an object-store sync): `check_layout` refuses, before anything is
written, only what cannot be repaired without losing something; `repair_pointers` turns a
faithful copy back into the symlink. Reading such a run needs neither: `run_dir.best_checkpoint`
falls back on the best step the run's state records.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
from pathlib import Path

from hnet_bio.atomic import fsync_dir
from pipelines.errors import UsageError
from pipelines.runs.run_dir import (
    BEST,
    CHECKPOINTS,
    is_complete,
    mark_best,
    read_trainer_state,
    recorded_best_step,
    remove_atomically,
    step_dir_name,
)


def _copied_best(run_dir: str | Path) -> tuple[Path, Path | None] | None:
    """``best`` as a real directory (a copy that dereferenced the symlink): (it, the ``step-N``
    it duplicates, or None when its step is unknown). None when ``best`` is not a real directory."""
    link = Path(run_dir) / CHECKPOINTS / BEST
    if link.is_symlink() or not link.exists():
        return None
    step = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        step = read_trainer_state(link).step
    return link, (link.parent / step_dir_name(step) if step is not None else None)


def check_layout(run_dir: str | Path) -> None:
    """Refuse at start only what cannot be repaired without losing something: a ``best`` that is
    neither a symlink nor a copy of a checkpoint (a file, a directory of unknown step), or a copy
    that differs from the ``step-N`` of the same step. A faithful copy is repaired by
    `repair_pointers` when the run is written."""
    found = _copied_best(run_dir)
    if found is None:
        return
    link, twin = found
    if not link.is_dir() or twin is None or not is_complete(link):
        raise UsageError(f"{link} is not a symlink to a step-* checkpoint, nor a complete copy of one; "
                         "move it away (nothing else in the run depends on it) and resume again")
    if is_complete(twin) and not _same_files(link, twin):
        raise UsageError(f"{link} is a copy of step {twin.name} that differs from {twin}; keep the one "
                         f"you want as {twin.name}, move the other away, and resume again")


def repair_pointers(run_dir: str | Path) -> None:
    """Turn a dereferenced ``best`` back into the symlink (`check_layout` has refused what cannot be
    repaired): a copy identical to its ``step-N`` is removed; a copy whose ``step-N`` is gone becomes
    that ``step-N`` (nothing is lost either way); then ``best`` points at the recorded best step."""
    found = _copied_best(run_dir)
    twin = found[1] if found is not None else None
    if found is not None and twin is not None:
        link = found[0]
        if is_complete(twin):
            remove_atomically(link)
        else:
            os.replace(link, twin)
            fsync_dir(link.parent)
    step = recorded_best_step(run_dir)
    link = Path(run_dir) / CHECKPOINTS / BEST
    if step is not None and is_complete(link.parent / step_dir_name(step)) and not (
            link.is_symlink() and os.readlink(link) == step_dir_name(step)):
        mark_best(run_dir, step)


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        filecmp.cmp(a / n, b / n, shallow=False) for n in names)
