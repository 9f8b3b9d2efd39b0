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
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
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
SMALL_MODEL_PARAMETERS = 64 * 2**20  # built in memory (256 MB) to name a mismatch; larger on "meta"


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
    """metadata.json of a checkpoint directory (or of a shipped model by name), validated.

    A directory without one is refused rather than read as the defaults: those say "DNA", and an
    audio model read as DNA would run without a word on the wrong bytes.
    """
    if not Path(path).exists() and os.fspath(path) in shipped_models():
        path = local_or_shipped(path)
    file = Path(path) / METADATA_FILE
    if not file.is_file():
        raise CheckpointError(f"{Path(path)}: missing {METADATA_FILE} (the modality and byte convention of "
                              "the model; every checkpoint hnet-bio writes has one: copy it from where the "
                              'checkpoint came from, or write {"modality": "dna"} or {"modality": "audio", '
                              '"sample_rate": 8000} if you know which it is)')
    try:
        data = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
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
    config, meta = check_checkpoint(path, expected_class)  # everything, before any large allocation
    model = build_model(config)
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
    return model, meta


def check_checkpoint(
    path: Path, expected_class: type[HNetLM] | type[IsotropicLM] | None = None,
) -> tuple[HNetConfig, CheckpointMetadata]:
    """Everything that can be wrong with a checkpoint directory, found before the model is built or
    a weight is read (a hostile or damaged file costs one line, not an out-of-memory kill): the
    files are there, config.json describes a model of sane sizes that fits in this machine's
    memory, metadata.json has the right types, and the weights file's header (shapes, read
    without the data) holds as many parameters as the config describes. Past these checks the
    model that is built is no larger than the weights file says it is; a same-sized disagreement
    (two shapes swapped) is named by the strict load that follows."""
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint directory")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (path / name).is_file():
            raise CheckpointError(f"{path}: missing {name}")
    try:
        config = HNetConfig.from_json(path / CONFIG_FILE)
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None
    meta = read_metadata(path)
    model_class = HNetLM if config.is_hierarchical else IsotropicLM  # what build_model will build
    if expected_class is not None and model_class is not expected_class:
        raise CheckpointError(f"{path}: holds a {model_class.__name__}, not a {expected_class.__name__}")
    _check_memory(path, config)
    found = _stored_shapes(path / WEIGHTS_FILE)
    stored = sum(math.prod(shape) for key, shape in found.items()
                 if not (config.tie_embeddings and key == "lm_head.weight"))
    if stored != config.num_parameters():
        # Name what differs. A skeleton on the meta device has the shapes without their memory,
        # but its first use imports torch's meta kernels (seconds): small models are built for real.
        small = config.num_parameters() <= SMALL_MODEL_PARAMETERS
        with torch.device("cpu" if small else "meta"):
            skeleton = build_model(config)
        expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
        if config.tie_embeddings and "lm_head.weight" not in found:
            expected.pop("lm_head.weight", None)
        problems = fit_problems(expected, found) or \
            f"{stored:,} parameters stored, {config.num_parameters():,} described"
        raise CheckpointError(f"{path / WEIGHTS_FILE}: does not fit {path / CONFIG_FILE}: {problems}")
    return config, meta


def _stored_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors header, without reading the data."""
    try:
        with safe_open(str(file), framework="pt") as fh:
            return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}  # noqa: SIM118 (not a dict)
    except Exception as exc:  # safetensors raises its own error types for truncated/corrupt files
        raise CheckpointError(f"{file}: cannot read weights ({exc})") from None


def _check_memory(path: Path, config: HNetConfig) -> None:
    """Refuse a model whose float32 weights alone exceed this machine's memory."""
    need = 4 * config.num_parameters()
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not every system reports it: then do not guess
        return
    if need > have:
        raise CheckpointError(f"{path / CONFIG_FILE}: the model has {config.num_parameters():,} parameters, "
                              f"{need / 1e9:,.1f} GB in float32, more than this machine's memory "
                              f"({have / 1e9:,.1f} GB)")


def load_state_dict_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True) with one readable error listing what does not fit."""
    problems = fit_problems({k: tuple(v.shape) for k, v in model.state_dict().items()},
                            {k: tuple(v.shape) for k, v in state.items()})
    if problems:
        raise CheckpointError(f"{source}: does not fit the model: {problems}")
    model.load_state_dict(state, strict=True)


def fit_problems(expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]]) -> str:
    """What keeps stored tensors ``found`` from loading into a model with ``expected`` (names ->
    shapes): missing and unexpected keys, shape mismatches, a few of each; "" when they fit."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = [f"{k}: checkpoint {found[k]} vs model {expected[k]}"
              for k in sorted(set(found) & set(expected)) if found[k] != expected[k]]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s) (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) (e.g. {', '.join(unexpected[:3])})")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es) (e.g. {'; '.join(shapes[:3])})")
    return "; ".join(problems)
