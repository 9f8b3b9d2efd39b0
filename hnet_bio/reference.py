"""Load the released reference checkpoints (`cartesia-ai/hnet_*`: a config JSON + a `.pt` state_dict).

The `.pt` files are pickles. We read them with `torch.load(weights_only=True)`, which only builds
tensors and plain containers. The released pickles also hold omegaconf objects (configs saved
beside the weights), which `weights_only` refuses; we then retry with an allow-list of just those
omegaconf classes and the containers their metadata pickles (``collections.defaultdict``,
``typing.Any``): the real ones if omegaconf is installed, otherwise inert stand-ins that merely
record their state (the state_dict's tensors never depend on them). No code from the file runs
either way. `trust_pickle=True` falls back to full unpickling and warns; use it only for files
you trust.

dtype: the reference runs in bfloat16 except `residual_proj.*` and Mamba's `mixer.D`, which stay
float32 (`hnet_bio.dtypes.cast_model`); we do the same for any half dtype, and cast everything for
float32/64.
"""

from __future__ import annotations

import collections
import importlib
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from hnet_bio.checkpoint import load_state_dict_strict
from hnet_bio.config import HNetConfig
from hnet_bio.dtypes import cast_model
from hnet_bio.errors import CheckpointError, ConfigError
from hnet_bio.lm import HNetLM, IsotropicLM, build_model

NESTED_KEYS = ("model", "state_dict", "model_state_dict")
# torch words a refused global two ways: not allow-listed, or from a module it blocks outright (posix...).
_UNSUPPORTED = re.compile(r"GLOBAL ([\w.]+) (?:was not an allowed global|whose module [\w.]+ is blocked)")
_INERT_GLOBALS: dict[str, Any] = {"typing.Any": Any, "builtins.list": list, "builtins.dict": dict,
                                  "builtins.int": int, "builtins.float": float, "builtins.str": str,
                                  "builtins.bool": bool, "builtins.tuple": tuple, "builtins.object": object,
                                  # omegaconf's node metadata holds a defaultdict(dict) of flags; both
                                  # containers only store values (the factory must itself be allowed).
                                  "collections.defaultdict": collections.defaultdict,
                                  "collections.OrderedDict": collections.OrderedDict}


class OmegaConfStandIn:
    """Takes the place of an omegaconf class while unpickling: holds args and state, does nothing."""

    def __new__(cls, *args: Any, **kwargs: Any) -> OmegaConfStandIn:
        obj = object.__new__(cls)
        obj.__dict__["_args"] = args
        return obj

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state


def _first_line(exc: BaseException) -> str:
    """One line: torch's weights_only errors put the useful part after 'WeightsUnpickler error:'."""
    text = str(exc).split("WeightsUnpickler error:")[-1].strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _allowed_global(name: str) -> Any | None:
    """The object to hand the unpickler for `name`, or None if it stays forbidden."""
    if name in _INERT_GLOBALS:
        return _INERT_GLOBALS[name]
    if not name.startswith("omegaconf."):
        return None
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return type(attr, (OmegaConfStandIn,), {"__module__": module})


def read_pickle_state(path: str | os.PathLike[str], trust_pickle: bool = False) -> Any:
    """torch.load the file safely (see module docstring); CheckpointError naming the file on failure."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    extra: list[tuple[Callable[..., Any], str]] = []  # (allowed object, the name torch asked for)
    for _ in range(64):  # each retry allow-lists one more omegaconf name
        try:
            with torch.serialization.safe_globals([*extra]):
                return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            match = _UNSUPPORTED.search(str(exc))
            name = match.group(1) if match else ""
            name = name if "." in name or not name else f"builtins.{name}"  # torch drops "builtins."
            allowed = _allowed_global(name) if match else None
            if allowed is None or any(name == seen for _, seen in extra):
                if match and trust_pickle:
                    break
                why = (
                    "refused by the safe loader; pass trust_pickle=True only if you trust this file"
                    if match else "not a torch.save file, or truncated/corrupt"
                )
                raise CheckpointError(f"{path}: cannot read checkpoint: {why} ({_first_line(exc)})") from None
            extra.append((allowed, name))
    warnings.warn(f"{path}: unpickling with weights_only=False (trust_pickle=True)", stacklevel=2)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({_first_line(exc)})") from None


def extract_state_dict(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """The tensors of a plain state_dict, or of one nested under "model"/"state_dict"."""
    if isinstance(obj, dict):
        for key in NESTED_KEYS:
            if isinstance(obj.get(key), dict):
                return extract_state_dict(obj[key], source)
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
    kind = type(obj).__name__
    raise CheckpointError(f"{source}: no state_dict found (expected a dict of tensors, got {kind})")


def load_reference(
    config_json: str | os.PathLike[str],
    state_dict_pt: str | os.PathLike[str],
    dtype: torch.dtype = torch.float32,
    trust_pickle: bool = False,
) -> HNetLM | IsotropicLM:
    """Build the model a reference config describes and load a reference `.pt` state_dict strictly.

    Keys, shapes and names must match exactly (docs/checkpoints.md); anything else is a one-line
    CheckpointError naming the file. Returns the model in eval mode on CPU in `dtype`.
    """
    try:
        config = HNetConfig.from_json(config_json)
    except (ConfigError, FileNotFoundError) as exc:
        raise CheckpointError(f"{config_json}: {exc}") from None
    model = build_model(config)
    state = extract_state_dict(read_pickle_state(state_dict_pt, trust_pickle), str(state_dict_pt))
    expected = model.state_dict()
    state = {k: v.to(expected[k].dtype) if k in expected else v for k, v in state.items()}
    load_state_dict_strict(model, state, str(state_dict_pt))
    return cast_model(model, dtype).eval()
