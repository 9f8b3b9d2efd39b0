"""The run directory: atomic checkpoints, rotation (last K + best), and what resume reads back.

Layout::

    RUN_DIR/
      pretrain_config.json        the resolved recipe (model inlined); --resume reads it
      metrics.jsonl  loss.png
      checkpoints/
        step-00000500/            loadable by hnet_bio.checkpoint.load_pretrained
          config.json  model.safetensors  metadata.json  optimizer.pt  trainer_state.json
        best -> step-00000500     symlink to the best checkpoint by held-out bits/byte

A checkpoint is assembled in a hidden temporary directory beside its final place, every file is
written through `hnet_bio.atomic` (fsync'ed, the umask's mode), and only then is the directory
renamed into place, so a kill at any moment leaves either the complete new checkpoint or none of
it, and never touches the previous ones. Rotation renames an old checkpoint to a hidden name
before deleting it, for the same reason. A directory counts as a checkpoint only when every file
of ``CHECKPOINT_FILES`` is in it; hidden leftovers are deleted when a run (re)starts.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hnet_bio.atomic import atomic_path, atomic_write_text, fsync_dir
from hnet_bio.checkpoint import CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, save_pretrained
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


# --------------------------------------------------------------------------- RNG states

def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU, and CUDA if used) generator states, JSON-serialisable."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": _to_json(random.getstate()),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [base64.b64encode(s.numpy().tobytes()).decode()
                         for s in torch.cuda.get_rng_state_all()]
    return state


def seed_rng(seed: int) -> None:
    """Seed Python's and NumPy's global generators (torch's is seeded where the model is built), so
    the states checkpointed are a function of the seed and the steps, not of the process."""
    random.seed(seed)
    np.random.seed(seed)


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_from_json(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(_decode_bytes(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_decode_bytes(s) for s in state["cuda"]])


def _decode_bytes(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8).clone()


def _to_json(obj: Any) -> Any:
    return [_to_json(o) for o in obj] if isinstance(obj, tuple) else obj


def _from_json(obj: Any) -> Any:
    return tuple(_from_json(o) for o in obj) if isinstance(obj, list) else obj


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
    link = Path(run_dir) / CHECKPOINTS / BEST
    if not (link.is_symlink() and is_complete(link.resolve())):
        return None
    return link.parent / os.readlink(link)  # as the caller named the run dir (relative stays relative)


def check_layout(run_dir: str | Path) -> None:
    """Refuse at start what would only fail after training: ``best`` copied as a real directory
    (``cp -r``/``rsync`` without ``-a``/``-l``), where the next "new best" cannot replace it."""
    link = Path(run_dir) / CHECKPOINTS / BEST
    if link.exists() and not link.is_symlink():
        step = None
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            step = int(load_trainer_state(link)["step"])
        target = step_dir_name(step) if step is not None else "step-NNNNNNNN"
        raise UsageError(f"{link} is a real directory, not a symlink to a step-* checkpoint (was the run "
                         f"copied without symlinks?); replace it: rm -r {link} && ln -s {target} {link}")


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


def save_checkpoint(run_dir: str | Path, step: int, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, trainer_state: dict[str, Any],
                    metadata: dict[str, Any]) -> Path:
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
        with atomic_path(tmp / OPTIMIZER_FILE) as f:
            torch.save(optimizer.state_dict(), f)
        atomic_write_text(tmp / TRAINER_STATE_FILE, json.dumps(trainer_state, indent=1) + "\n")
        fsync_dir(tmp)  # every file was fsync'ed by the atomic writer
        if final.exists():  # an incomplete leftover with the same name
            _remove_atomically(final)
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
            _remove_atomically(p, step=s)
            removed.append(p)
    return removed


def _remove_atomically(path: Path, step: int | None = None) -> None:
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


def load_trainer_state(ckpt: str | Path) -> dict[str, Any]:
    return json.loads((Path(ckpt) / TRAINER_STATE_FILE).read_text())


def load_optimizer_state(ckpt: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(Path(ckpt) / OPTIMIZER_FILE, map_location=map_location, weights_only=True)


# --------------------------------------------------------------------------- the run directory type

class RunDir:
    """A run directory of ``hnet-bio pretrain``: the one owner of its file names.

    Every job reads a run through this type (``RunDir(path).metrics()``, ``.summary()``,
    ``.trainer_state(ckpt)``, ``.best_checkpoint()``) and never spells a run file's name.
    """

    CONFIG = "pretrain_config.json"  # the resolved recipe (model inlined); --resume reads it
    METRICS = "metrics.jsonl"
    SUMMARY = "summary.json"
    LOSS_PLOT = "loss.png"

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

    def summary(self) -> RunSummary | None:
        """``summary.json`` of a finished or stopped run; None while it runs or if it never ended."""
        if not self.summary_path.is_file():
            return None
        return RunSummary.from_json(json.loads(self.summary_path.read_text()))

    def trainer_state(self, ckpt: str | os.PathLike[str]) -> TrainerState:
        return TrainerState.from_json(load_trainer_state(ckpt))

    def train_records(self) -> list[TrainRecord]:
        return [TrainRecord.from_json(r) for r in _read_jsonl(self.metrics_path) if r.get("kind") == "train"]

    def eval_records(self) -> list[EvalRecord]:
        return [EvalRecord.from_json(r) for r in _read_jsonl(self.metrics_path) if r.get("kind") == "eval"]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
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
