"""The models shipped inside the package, found by name: ``hnet_bio/models/NAME/``.

No model hub is reachable where this project runs, so the small pretrained models travel with the
code as package data. Each is an ordinary checkpoint directory (config.json, bf16 model.safetensors,
metadata.json) plus its model card README.md, written by ``hnet-bio package``. Anything that takes a
checkpoint directory also takes one of these names: `local_or_shipped` turns a name into its
directory when no file of that name exists, so a local directory always wins over a shipped name.
"""

from __future__ import annotations

import os
from pathlib import Path

from hnet_bio.errors import CheckpointError

MODELS_DIR = Path(__file__).resolve().parent / "models"
CARD_FILE = "README.md"


def shipped_models(models_dir: Path | None = None) -> list[str]:
    """Names of the shipped models present, sorted (a directory counts once it has its weights;
    hidden ones are a packaging job's staging directories)."""
    root = MODELS_DIR if models_dir is None else Path(models_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".")
                  and (p / "config.json").is_file() and (p / "model.safetensors").is_file())


def shipped_model_dir(name: str, models_dir: Path | None = None) -> Path:
    """The directory of shipped model ``name``; CheckpointError listing the known names otherwise."""
    root = MODELS_DIR if models_dir is None else Path(models_dir)
    known = shipped_models(root)
    if name not in known:
        listed = ", ".join(known) if known else "none installed"
        raise CheckpointError(f"{name}: no such checkpoint directory, and not a shipped model "
                              f"(shipped models: {listed})")
    return root / name


def local_or_shipped(path_or_name: str | os.PathLike[str]) -> Path:
    """A checkpoint directory from a path or a shipped name: an existing path as is, else a shipped name.

    The model core's own lookup (`load_pretrained` takes a directory or a shipped name); the
    jobs' resolver, which also knows run directories, is `pipelines.runs.resolve`.

    A path that exists is returned unchanged even if it is not a checkpoint (the loader then says
    what is missing); a string that names nothing on disk must be a shipped model's name.
    """
    path = Path(path_or_name)
    if path.exists():
        return path
    return shipped_model_dir(os.fspath(path_or_name))
