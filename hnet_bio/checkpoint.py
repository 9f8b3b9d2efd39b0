"""Our checkpoint directories: config.json + model.safetensors + metadata.json, written atomically.

A directory is self-describing: `load_pretrained(dir)` rebuilds the right model class from
config.json and loads the weights strictly. Training adds optimizer/trainer state beside these
files (pipelines/), which loading the model ignores.

metadata.json is read and written as `hnet_bio.metadata.CheckpointMetadata` (modality, byte
convention, sample rate, bytes seen, ...; validated once on read).

Wherever a directory is accepted, the name of a shipped model (`hnet_bio.shipped`, e.g.
"dna-bacteria-small") works too when no file of that name exists. Weights stored in bf16 (the
shipped models) load into the float32 model unless another `dtype` is asked for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from hnet_bio.atomic import atomic_path, atomic_write_json, os_errors_of_writers
from hnet_bio.config import HNetConfig
from hnet_bio.dtypes import cast_model
from hnet_bio.errors import CheckpointError, ConfigError
from hnet_bio.lm import HNetLM, IsotropicLM, build_model
from hnet_bio.metadata import CheckpointMetadata
from hnet_bio.shipped import local_or_shipped, shipped_models

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METADATA_FILE = "metadata.json"


def save_pretrained(
    model: HNetLM | IsotropicLM, path: str | os.PathLike[str],
    metadata: CheckpointMetadata | dict[str, Any] | None = None,
) -> None:
    """Write config, weights and metadata (modality, byte convention, bytes seen, ...) to `path`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        state.pop("lm_head.weight", None)  # safetensors refuses shared storage; re-tied on load
    # safetensors reports a full disk as its own error type: os_errors_of_writers makes it an OSError
    with os_errors_of_writers(path / WEIGHTS_FILE), atomic_path(path / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    model.config.save(path / CONFIG_FILE)
    if metadata is None:
        metadata = CheckpointMetadata()
    elif isinstance(metadata, dict):
        metadata = CheckpointMetadata.from_json(metadata, "metadata")
    meta = metadata.replace(model_class=type(model).__name__)
    atomic_write_json(path / METADATA_FILE, meta.to_json())


def read_metadata(path: str | os.PathLike[str]) -> CheckpointMetadata:
    """metadata.json of a checkpoint directory (or of a shipped model by name), validated; the
    defaults (a DNA model) if it has none."""
    if not Path(path).exists() and os.fspath(path) in shipped_models():
        path = local_or_shipped(path)
    file = Path(path) / METADATA_FILE
    if not file.exists():
        return CheckpointMetadata()
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{file}: not valid JSON ({exc})") from None
    return CheckpointMetadata.from_json(data, str(file))


def load_pretrained(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    expected_class: type[HNetLM] | type[IsotropicLM] | None = None,
) -> tuple[HNetLM | IsotropicLM, CheckpointMetadata]:
    """Rebuild the model from `path`/config.json and load `path`/model.safetensors strictly.

    path: a checkpoint directory, or the name of a shipped model (see `hnet_bio.shipped`); an
    unknown name raises CheckpointError listing the shipped ones.
    dtype: None keeps the float32 model whatever the stored dtype (bf16 weights are upcast on
    load, exactly), so everything downstream computes as with a float32 checkpoint.
    expected_class: refuse (CheckpointError) a checkpoint of another model class, e.g. an
    IsotropicLM where an HNetLM is needed.
    """
    path = local_or_shipped(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint directory")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (path / name).exists():
            raise CheckpointError(f"{path}: missing {name}")
    try:
        config = HNetConfig.from_json(path / CONFIG_FILE)
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None
    model = build_model(config)
    if expected_class is not None and not isinstance(model, expected_class):
        raise CheckpointError(f"{path}: holds a {type(model).__name__}, not a {expected_class.__name__}")
    try:
        state = load_file(str(path / WEIGHTS_FILE), device=str(map_location))
    except Exception as exc:  # safetensors raises its own error types for truncated/corrupt files
        raise CheckpointError(f"{path / WEIGHTS_FILE}: cannot read weights ({exc})") from None
    if config.tie_embeddings and "lm_head.weight" not in state and "embeddings.weight" in state:
        state["lm_head.weight"] = state["embeddings.weight"]
    load_state_dict_strict(model, state, str(path / WEIGHTS_FILE))  # copies into float32: upcasts bf16
    model.to(map_location)
    if dtype is not None:
        cast_model(model, dtype)  # keeps residual_proj / mixer.D fp32 for half dtypes
    return model, read_metadata(path)


def load_state_dict_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True) with one readable error listing what does not fit."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s) (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) (e.g. {', '.join(unexpected[:3])})")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es) (e.g. {'; '.join(shapes[:3])})")
    if problems:
        raise CheckpointError(f"{source}: does not fit the model: " + "; ".join(problems))
    model.load_state_dict(state, strict=True)
