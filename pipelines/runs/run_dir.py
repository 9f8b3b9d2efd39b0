"""The run directory: atomic checkpoints, rotation (last K + best), and what resume reads back.

Layout::

    RUN_DIR/
      pretrain_config.json        the resolved recipe (model inlined); --resume reads it
      metrics.jsonl  loss.png
      checkpoints/
        step-00000500/            loadable by hnet_bio.checkpoint.load_pretrained
          config.json  model.safetensors  metadata.json  optimizer.pt  trainer_state.json
        best -> step-00000500     symlink to the best checkpoint by held-out bits/byte (a convenience:
                                  the record is best_step in the newest trainer_state.json)
      .hnet-bio.lock              while a process writes the run (`pipelines.runs.lock`)

A checkpoint is assembled in a hidden temporary directory beside its final place, every file is
written through `hnet_bio.atomic` (fsync'ed, the umask's mode), and only then is the directory
renamed into place, so a kill at any moment leaves either the complete new checkpoint or none of
it, and never touches the previous ones. Rotation renames an old checkpoint to a hidden name
before deleting it, for the same reason. A directory counts as a checkpoint only when every file
of ``CHECKPOINT_FILES`` is in it; hidden leftovers are deleted when a run (re)starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import torch

from hnet_bio import atomic
from hnet_bio.atomic import atomic_write_json, atomic_write_text, fsync_dir
from hnet_bio.checkpoint import CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, save_pretrained
from hnet_bio.lm import HNetLM, IsotropicLM
from hnet_bio.metadata import CheckpointMetadata
from pipelines.errors import UsageError
from pipelines.runs.records import EvalRecord, RunSummary, TrainerState, TrainRecord

CHECKPOINTS = "checkpoints"
BEST = "best"
OPTIMIZER_FILE = "optimizer.pt"
TRAINER_STATE_FILE = "trainer_state.json"
CHECKPOINT_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE)
TMP_PREFIX = ".tmp-"  # a checkpoint (or best symlink) being written
TRASH_PREFIX = ".old-"  # a rotated-out checkpoint being deleted
FAULT_ENV = "HNET_BIO_FAULT"
_STEP_DIR = re.compile(r"^step-(\d+)$")


# --------------------------------------------------------------------------- checkpoints

def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def is_complete(ckpt: str | Path) -> bool:
    """Every file a resume reads is there (a torn directory of an older version or a hand-edited
    one is not a checkpoint, whatever its name)."""
    ckpt = Path(ckpt)
    return ckpt.is_dir() and not ckpt.is_symlink() and all((ckpt / f).is_file() for f in CHECKPOINT_FILES)


def _step_dirs(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Every ``step-N`` directory, complete or not, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and p.is_dir() and not p.is_symlink():
            out.append((int(m.group(1)), p))
    return sorted(out)


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints (all of ``CHECKPOINT_FILES`` present), oldest first."""
    return [(s, p) for s, p in _step_dirs(run_dir) if is_complete(p)]


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1][1] if ckpts else None


def best_checkpoint(run_dir: str | Path) -> Path | None:
    """The best checkpoint: where the ``best`` symlink points, or else where the run's state says.

    The symlink is a convenience for people (``ls``, ``cd best``); the record is ``best_step`` in
    the newest checkpoint's ``trainer_state.json``, written atomically with it. So a run copied by
    a tool that dereferences symlinks (``cp -r``, rsync without ``-l``, ``scp -r``, zip, an object
    store sync), where ``best`` became a real directory or vanished, still knows its best.
    """
    link = Path(run_dir) / CHECKPOINTS / BEST
    if link.is_symlink() and is_complete(link.resolve()):
        return link.parent / os.readlink(link)  # as the caller named the run dir (relative stays relative)
    step = recorded_best_step(run_dir)
    if step is None or not is_complete(link.parent / step_dir_name(step)):
        return None
    return link.parent / step_dir_name(step)


def recorded_best_step(run_dir: str | Path) -> int | None:
    """``best_step`` as the newest complete checkpoint's trainer state records it."""
    newest = latest_checkpoint(run_dir)
    if newest is None:
        return None
    try:
        return read_trainer_state(newest).best_step
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_stale_temporaries(run_dir: str | Path) -> None:
    """Half-written checkpoints and half-deleted old ones of a killed run are never read; delete them."""
    root = Path(run_dir) / CHECKPOINTS
    if root.is_dir():
        for p in root.iterdir():
            if not p.name.startswith((TMP_PREFIX, TRASH_PREFIX)):
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def save_checkpoint(run_dir: str | Path, step: int, model: HNetLM | IsotropicLM,
                    optimizer: torch.optim.Optimizer, trainer_state: TrainerState | dict[str, Any],
                    metadata: CheckpointMetadata | dict[str, Any]) -> Path:
    """Write ``checkpoints/step-N`` atomically and return it; a no-op if it already exists.

    On any failure (a full disk, a second Ctrl-C) the temporary directory is removed and the
    earlier checkpoints are untouched.
    """
    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    if is_complete(final):
        return final
    tmp = root / f"{TMP_PREFIX}{step_dir_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        save_pretrained(model, tmp, metadata=metadata)
        fault_point("checkpoint-partial", step)
        # Through a Python file object, so a full disk surfaces as the OSError behind torch's
        # RuntimeError (writing by name, torch's C++ stream loses the errno).
        opt_file = tmp / OPTIMIZER_FILE
        with atomic.os_errors_of_writers(opt_file), atomic.atomic_write(opt_file) as fh:
            torch.save(optimizer.state_dict(), fh)
        state = trainer_state.to_json() if isinstance(trainer_state, TrainerState) else trainer_state
        atomic_write_text(tmp / TRAINER_STATE_FILE, json.dumps(state, indent=1) + "\n")
        fsync_dir(tmp)  # every file was fsync'ed by the atomic writer
        if final.exists():  # an incomplete leftover with the same name
            remove_atomically(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(root)
    fault_point("checkpoint-written", step)
    return final


def mark_best(run_dir: str | Path, step: int) -> Path:
    """Point ``checkpoints/best`` at step ``step`` (atomically, by renaming a fresh symlink)."""
    root = Path(run_dir) / CHECKPOINTS
    tmp = root / f"{TMP_PREFIX}best-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(step_dir_name(step), tmp)
        os.replace(tmp, root / BEST)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(root)
    return root / BEST


def finish_interrupted(run_dir: str | Path, keep_last: int, best_step: int | None) -> None:
    """On resume, complete what a run killed between writing a checkpoint and rotating did not:
    point ``best`` at the resumed state's best step, then rotate, as the uninterrupted run did."""
    best = best_checkpoint(run_dir)
    if best_step is not None and is_complete(Path(run_dir) / CHECKPOINTS / step_dir_name(best_step)) \
            and (best is None or best.name != step_dir_name(best_step)):
        mark_best(run_dir, best_step)
    rotate_checkpoints(run_dir, keep_last, best_step)


def rotate_checkpoints(run_dir: str | Path, keep_last: int, best_step: int | None) -> list[Path]:
    """Delete all but the newest ``keep_last`` complete checkpoints and the best one; return what went.

    Incomplete ``step-N`` directories (left by older versions) are never kept. Each removal is a
    rename to a hidden name, then the delete, so a kill in the middle leaves either the whole
    checkpoint or a hidden leftover that the next start removes, never a torn ``step-N``.
    """
    keep = {s for s, _ in list_checkpoints(run_dir)[-keep_last:]} if keep_last > 0 else set()
    if best_step is not None:
        keep.add(best_step)
    removed = []
    for s, p in _step_dirs(run_dir):
        if s not in keep:
            remove_atomically(p, step=s)
            removed.append(p)
    return removed


def remove_atomically(path: Path, step: int | None = None) -> None:
    trash = path.with_name(f"{TRASH_PREFIX}{path.name}-{os.getpid()}")
    os.replace(path, trash)
    fsync_dir(path.parent)
    if step is not None:
        fault_point("rotate-renamed", step)
    for i, f in enumerate(sorted(trash.iterdir())):
        if f.is_dir() and not f.is_symlink():
            shutil.rmtree(f)
        else:
            f.unlink()
        if i == 0 and step is not None:
            fault_point("rotate-deleting", step)
    trash.rmdir()


# --------------------------------------------------------------------------- fault hook (tests)

def fault_point(point: str, step: int) -> None:
    """Test hook: with ``HNET_BIO_FAULT=POINT@STEP`` in the environment, SIGKILL this process when
    it reaches ``point`` while handling ``step``. The points: ``step-done`` (after an optimizer
    step, before any checkpoint of it), ``checkpoint-partial`` (weights written, optimizer not yet,
    in the temporary directory), ``checkpoint-written`` (renamed into place, before ``best`` and
    rotation), ``rotate-renamed`` and ``rotate-deleting`` (an old checkpoint ``step`` renamed to
    its hidden name; one of its files deleted). tests/pipelines/training/test_interruption.py
    kills runs here."""
    if os.environ.get(FAULT_ENV) == f"{point}@{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def load_trainer_state(ckpt: str | os.PathLike[str]) -> dict[str, Any]:
    """trainer_state.json of a checkpoint as parsed JSON (`read_trainer_state` for the record)."""
    return json.loads((Path(ckpt) / TRAINER_STATE_FILE).read_text())


def read_trainer_state(ckpt: str | os.PathLike[str]) -> TrainerState:
    return TrainerState.from_json(load_trainer_state(ckpt))


def load_optimizer_state(ckpt: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(Path(ckpt) / OPTIMIZER_FILE, map_location=map_location, weights_only=True)


# --------------------------------------------------------------------------- the run directory type

class RunDir:
    """A run directory of ``hnet-bio pretrain``: the one owner of its file names.

    Every job reads a run through this type (``RunDir(path).summary()``, ``.train_records()``,
    ``.trainer_state(ckpt)``, ``.best_checkpoint()``) and never spells a run file's name; the
    training loop writes it through the same type (``.write_config``, ``.save_checkpoint``, ...).
    """

    CONFIG = "pretrain_config.json"  # the resolved recipe (model inlined); --resume reads it
    METRICS = "metrics.jsonl"
    SUMMARY = "summary.json"
    LOSS_PLOT = "loss.png"
    LOCK = ".hnet-bio.lock"  # held by the one process writing the run (`pipelines.runs.lock`)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def config_path(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / self.METRICS

    @property
    def summary_path(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def loss_plot_path(self) -> Path:
        return self.path / self.LOSS_PLOT

    @property
    def checkpoints_path(self) -> Path:
        return self.path / CHECKPOINTS

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_path / step_dir_name(step)

    def is_run(self) -> bool:
        """Looks like a pretraining run: it has its recipe or a checkpoints folder."""
        return self.path.is_dir() and (self.config_path.is_file() or self.checkpoints_path.is_dir())

    # ------------------------------------------------------------------ checkpoints
    def checkpoints(self) -> list[tuple[int, Path]]:
        """Complete checkpoints, oldest first."""
        return list_checkpoints(self.path)

    def latest_checkpoint(self) -> Path | None:
        return latest_checkpoint(self.path)

    def best_checkpoint(self) -> Path | None:
        return best_checkpoint(self.path)

    def checkpoint_at(self, step: int) -> Path | None:
        path = self.checkpoint_path(step)
        return path if is_complete(path) else None

    def describe_checkpoints(self) -> str:
        """What a miss prints: the complete checkpoints there, and which one is best."""
        found = self.checkpoints()
        if not found:
            return "it holds no complete checkpoint"
        best = self.best_checkpoint()
        names = ", ".join(p.name for _, p in found)
        return f"checkpoints there: {names}" + (f" (best: {best.name})" if best is not None else "")

    def save_checkpoint(self, step: int, model: HNetLM | IsotropicLM, optimizer: torch.optim.Optimizer,
                        trainer_state: TrainerState, metadata: CheckpointMetadata, *, best: bool,
                        keep_last: int, best_step: int | None) -> Path:
        """Write step ``step`` atomically, point ``best`` at it if asked, then rotate (last K + best)."""
        path = save_checkpoint(self.path, step, model, optimizer, trainer_state, metadata)
        if best:
            mark_best(self.path, step)
        rotate_checkpoints(self.path, keep_last, best_step)
        return path

    # ------------------------------------------------------------------ typed records
    def read_config(self) -> dict[str, Any]:
        """The saved recipe as JSON (`pipelines.training.train_config.read_config` builds the dataclass)."""
        try:
            data = json.loads(self.config_path.read_text())
        except json.JSONDecodeError as exc:
            raise UsageError(f"{self.config_path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{self.config_path}: expected a JSON object")
        return data

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.config_path, config)

    def summary(self) -> RunSummary | None:
        """``summary.json`` of a finished or stopped run; None while it runs or if it never ended."""
        if not self.summary_path.is_file():
            return None
        try:
            return RunSummary.from_json(json.loads(self.summary_path.read_text()))
        except (json.JSONDecodeError, TypeError):
            return None  # torn or foreign: as good as absent (a summary is written last, atomically)

    def write_summary(self, summary: RunSummary) -> None:
        atomic_write_json(self.summary_path, summary.to_json())

    def trainer_state(self, ckpt: str | os.PathLike[str]) -> TrainerState:
        return read_trainer_state(ckpt)

    def train_records(self) -> list[TrainRecord]:
        return [TrainRecord.from_json(r) for r in self.read_metrics("train")]

    def eval_records(self) -> list[EvalRecord]:
        return [EvalRecord.from_json(r) for r in self.read_metrics("eval")]

    def read_metrics(self, kind: str | None = None) -> list[dict[str, Any]]:
        """metrics.jsonl as parsed JSON (optionally one ``kind``): for exact comparisons of what was
        written; everything else reads `train_records` / `eval_records`."""
        rows = read_jsonl(self.metrics_path)
        return rows if kind is None else [r for r in rows if r.get("kind") == kind]

    def truncate_metrics(self, max_step: int) -> None:
        """Drop records after ``max_step``: on resume the run restarts from the checkpoint's step,
        and whatever an interrupted run logged past it is recomputed (identically) and logged again."""
        if not self.metrics_path.is_file():
            return
        keep = [json.dumps(r) for r in read_jsonl(self.metrics_path) if r.get("step", 0) <= max_step]
        atomic_write_text(self.metrics_path, "".join(line + "\n" for line in keep))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSON-lines file; a torn last line (a killed writer) is skipped."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
