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
fsync'ed, and only then is the directory renamed into place, so a kill at any moment leaves
either the complete new checkpoint or none of it, and never touches the previous ones.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hnet_bio.atomic import fsync_dir

CHECKPOINTS = "checkpoints"
BEST = "best"
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


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints, oldest first (a directory only counts once it has trainer_state.json)."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and p.is_dir() and not p.is_symlink() and (p / "trainer_state.json").is_file():
            out.append((int(m.group(1)), p))
    return sorted(out)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1][1] if ckpts else None


def best_checkpoint(run_dir: str | Path) -> Path | None:
    link = Path(run_dir) / CHECKPOINTS / BEST
    if not (link.is_symlink() and link.resolve().is_dir()):
        return None
    return link.parent / os.readlink(link)  # as the caller named the run dir (relative stays relative)


def remove_stale_temporaries(run_dir: str | Path) -> None:
    """Half-written checkpoints of a killed run are never read; delete them on start."""
    root = Path(run_dir) / CHECKPOINTS
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def save_checkpoint(run_dir: str | Path, step: int, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, trainer_state: dict[str, Any],
                    metadata: dict[str, Any]) -> Path:
    """Write ``checkpoints/step-N`` atomically and return it; a no-op if it already exists."""
    from hnet_bio.checkpoint import save_pretrained

    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    if (final / "trainer_state.json").is_file():
        return final
    tmp = root / f".tmp-{step_dir_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_pretrained(model, tmp, metadata=metadata)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "trainer_state.json").write_text(json.dumps(trainer_state, indent=1) + "\n")
    for f in tmp.iterdir():
        with open(f, "rb+") as fh:
            os.fsync(fh.fileno())
    fsync_dir(tmp)
    if final.exists():  # an incomplete leftover with the same name
        shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_dir(root)
    return final


def mark_best(run_dir: str | Path, step: int) -> Path:
    """Point ``checkpoints/best`` at step ``step`` (atomically, by renaming a fresh symlink)."""
    root = Path(run_dir) / CHECKPOINTS
    tmp = root / f".tmp-best-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(step_dir_name(step), tmp)
    os.replace(tmp, root / BEST)
    fsync_dir(root)
    return root / BEST


def rotate_checkpoints(run_dir: str | Path, keep_last: int, best_step: int | None) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints and the best one; return what went."""
    ckpts = list_checkpoints(run_dir)
    keep = {s for s, _ in ckpts[-keep_last:]} if keep_last > 0 else set()
    if best_step is not None:
        keep.add(best_step)
    removed = []
    for s, p in ckpts:
        if s not in keep:
            shutil.rmtree(p)
            removed.append(p)
    return removed


def load_trainer_state(ckpt: str | Path) -> dict[str, Any]:
    return json.loads((Path(ckpt) / "trainer_state.json").read_text())


def load_optimizer_state(ckpt: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(Path(ckpt) / "optimizer.pt", map_location=map_location, weights_only=True)
