"""Pretraining recipes: typed dataclasses, JSON/YAML loading and dotted overrides.

A recipe file holds three sections::

    model: small-1stage.json      # path (relative to the recipe) or an inline model-config dict
    data:  {corpus: dna-sample, eval_fraction: 0.05}
    train: {seq_len: 1024, batch_size: 8, max_steps: 2000, lr: 2.0e-3, ...}

Every key is checked against the dataclass fields, so a typo fails at once with one line that
lists the valid keys, before anything is written to the run directory. The resolved config (model
inlined) is saved next to every checkpoint, which is what makes ``--resume`` self-contained.

Why the type checking (``_coerce``) is written here rather than taken from a library: the values
arrive both from YAML (typed) and from the command line (strings such as ``3e-3``, ``0.9,0.95``,
``none``), and each failure must be one line naming the dotted key (``train.betas: expected 2
values, got [0.9]``). pydantic would add a dependency whose errors are multi-line tables, and
jsonargparse/OmegaConf would replace argparse and the recipe format; the dataclasses' own type
hints plus this ~60-line coercion do the job with the exact messages and no new dependency.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from hnet_bio.errors import ConfigError
from pipelines.runs.run_dir import RunDir

PRECISIONS = ("fp32", "bf16")
DECAY_SHAPES = ("linear", "cosine", "1-sqrt")


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping knobs; every one is visible in the recipe and on the CLI."""

    seq_len: int = 1024  # bytes per window fed to the model (each window reads seq_len + 1 bytes)
    batch_size: int = 8  # windows per micro-step per rank
    grad_accum: int = 1  # micro-steps per optimizer step
    max_steps: int = 1000  # optimizer steps; ignored when byte_budget is set
    extend: bool = False  # --resume past a schedule whose decay began: extra steps at the final lr
    byte_budget: int | None = None  # total training bytes (all ranks); sets max_steps when given
    lr: float = 2e-3  # peak learning rate of the level-0 groups (times their lr_multiplier)
    min_lr_ratio: float = 0.1  # final lr = lr * min_lr_ratio at the end of the decay phase
    warmup_steps: int | None = None  # overrides warmup_fraction when given
    warmup_fraction: float = 0.05
    decay_fraction: float = 0.2  # the last fraction of steps of warmup-stable-decay
    decay_shape: str = "linear"  # linear | cosine | 1-sqrt
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float | None = 1.0  # max global grad norm; None disables clipping
    precision: str = "fp32"  # fp32 | bf16 (autocast; weights and optimizer stay fp32)
    seed: int = 0
    log_every: int = 10
    eval_every: int = 200  # 0: only at the end
    eval_at_bytes: list[int] | None = None  # also evaluate at the first step reaching each byte count
    eval_windows: int = 64  # held-out contiguous windows per evaluation (fixed and deterministic)
    eval_batch_size: int | None = None  # defaults to batch_size
    eval_window_scores: bool = False  # log each window's bits/byte too (for confidence intervals)
    save_every: int = 500  # 0: only at the end
    keep_last: int = 3  # periodic checkpoints kept; the best-by-eval one is kept on top
    num_workers: int = 0  # DataLoader workers
    rc_augment: bool = False  # DNA reverse-complement augmentation
    deterministic: bool = False  # torch.use_deterministic_algorithms (bit-exact resume on GPU too)
    compile: bool = False  # torch.compile the byte-level layers (~25 s cold start, ~1.7x on CPU)
    recompute: bool = False  # recompute Mamba-2/SwiGLU activations in backward: less memory, same numbers
    device: str = "auto"  # auto | cpu | cuda
    peak_tflops: float | None = None  # per-device peak, to report MFU; None reports TFLOP/s only
    # Model overrides: applied to the model config's "hnet_bio" section.
    target_ratio: list[float] | None = None  # N per non-innermost stage
    ratio_loss_weight: float | None = None
    lr_multiplier: list[float] | None = None  # one per level (d_model entry), outermost first


@dataclass
class DataConfig:
    """Where the bytes come from; ``--data`` on the CLI replaces ``corpus``."""

    corpus: str | list[str] = "dna-sample"  # named corpus or file paths
    data_dir: str | None = None
    eval_fraction: float = 0.05
    sample_rate: int | None = None  # audio bytes per second; None: the files' own rate when they agree
    split_seed: int | None = None  # seed of the train/held-out split; None: train.seed

    def split_seed_for(self, train_seed: int) -> int:
        """The seed that picks the held-out split: ``split_seed`` when set, else the training seed.
        A comparison fixes it so that its seeds vary initialisation and data order, not the split."""
        return train_seed if self.split_seed is None else self.split_seed


@dataclass
class PretrainConfig:
    """A whole recipe: the model config as a dict (as ``HNetConfig.to_dict`` writes it), data, train."""

    model: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "data": dataclasses.asdict(self.data),
                "train": dataclasses.asdict(self.train)}

    def model_config_dict(self) -> dict[str, Any]:
        """The model dict with the train-section overrides folded into its ``hnet_bio`` section."""
        d = json.loads(json.dumps(self.model))
        section = d.setdefault("hnet_bio", {})
        for key in ("target_ratio", "ratio_loss_weight", "lr_multiplier"):
            value = getattr(self.train, key)
            if value is not None:
                section[key] = value
        return d


# --------------------------------------------------------------------------- type checking

def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Return ``value`` as type ``tp`` or raise ConfigError; strings (CLI values) are parsed."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_none and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            with contextlib.suppress(ConfigError):
                return _coerce(value, arg, key)
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin in (list, tuple):
        if isinstance(value, str):
            text = value.strip()
            parsed = yaml.safe_load(text) if text.startswith("[") else [v for v in text.split(",") if v]
            value = parsed
        if isinstance(value, (int, float)) and not isinstance(value, bool) and origin is list:
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple:
            if len(value) != len(args):
                raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, key) for v, a in zip(value, args, strict=True))
        return [_coerce(v, args[0], key) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, str):
            with contextlib.suppress(yaml.YAMLError):
                value = yaml.safe_load(value)
            if isinstance(value, str):  # YAML 1.1 reads "1e6" as a string
                with contextlib.suppress(ValueError):
                    value = float(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 1e6 in YAML/CLI for a byte budget
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise ConfigError(f"{key}: expected a finite number, got {value!r}")
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if typing.get_origin(tp) is dict or tp is dict:
        if isinstance(value, dict):
            return value
        raise ConfigError(f"{key}: expected a mapping, got {value!r}")
    return value


def _type_name(tp: Any) -> str:
    return str(tp).replace("typing.", "").replace("<class '", "").replace("'>", "")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build_section(cls: type, values: dict[str, Any], section: str) -> Any:
    """Dataclass from a mapping; unknown keys fail with the list of valid ones."""
    if not isinstance(values, dict):
        raise ConfigError(f"section '{section}' must be a mapping, got {type(values).__name__}")
    hints = _hints(cls)
    unknown = sorted(str(k) for k in values if k not in hints)  # str: YAML keys may be numbers
    if unknown:
        raise ConfigError(f"unknown key {f'{section}.{unknown[0]}'!r}; valid keys: "
                          + ", ".join(f"{section}.{k}" for k in hints))
    return cls(**{k: _coerce(v, hints[k], f"{section}.{k}") for k, v in values.items()})


def valid_override_keys() -> list[str]:
    """Dotted keys accepted by ``apply_overrides`` (and as ``--KEY VALUE`` on the CLI)."""
    return [f"train.{k}" for k in _hints(TrainConfig)] + [f"data.{k}" for k in _hints(DataConfig)]


def apply_overrides(cfg: PretrainConfig, overrides: dict[str, Any]) -> PretrainConfig:
    """Return a copy of ``cfg`` with dotted ``section.key`` values replaced, type-checked."""
    train = dataclasses.asdict(cfg.train)
    data = dataclasses.asdict(cfg.data)
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        target = {"train": (train, TrainConfig), "data": (data, DataConfig)}.get(section)
        if target is None or name not in _hints(target[1]):
            raise ConfigError(f"unknown override {key!r}; valid keys: " + ", ".join(valid_override_keys()))
        target[0][name] = _coerce(value, _hints(target[1])[name], key)
    out = PretrainConfig(model=cfg.model, data=build_section(DataConfig, data, "data"),
                         train=build_section(TrainConfig, train, "train"))
    validate(out)
    return out


def validate(cfg: PretrainConfig) -> None:
    """Cross-field checks that types alone cannot express."""
    t = cfg.train
    positive = ("seq_len", "batch_size", "grad_accum", "max_steps", "log_every", "eval_windows", "keep_last")
    for name in positive:
        if getattr(t, name) < 1:
            raise ConfigError(f"train.{name} must be >= 1, got {getattr(t, name)}")
    for name in ("eval_every", "save_every", "num_workers"):
        if getattr(t, name) < 0:
            raise ConfigError(f"train.{name} must be >= 0, got {getattr(t, name)}")
    if t.eval_at_bytes is not None and any(b < 1 for b in t.eval_at_bytes):
        raise ConfigError(f"train.eval_at_bytes must hold byte counts >= 1, got {t.eval_at_bytes}")
    if t.byte_budget is not None and t.byte_budget < 1:
        raise ConfigError(f"train.byte_budget must be >= 1, got {t.byte_budget}")
    if t.precision not in PRECISIONS:
        raise ConfigError(f"train.precision must be one of {', '.join(PRECISIONS)}, got {t.precision!r}")
    if t.decay_shape not in DECAY_SHAPES:
        raise ConfigError(f"train.decay_shape must be one of {', '.join(DECAY_SHAPES)}, "
                          f"got {t.decay_shape!r}")
    if t.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"train.device must be auto, cpu or cuda, got {t.device!r}")
    if not (t.lr > 0 and 0 <= t.min_lr_ratio <= 1):
        raise ConfigError(f"train.lr must be > 0 and train.min_lr_ratio in [0, 1], "
                          f"got {t.lr}, {t.min_lr_ratio}")
    if not (0 <= t.warmup_fraction <= 1 and 0 <= t.decay_fraction <= 1):
        raise ConfigError("train.warmup_fraction and train.decay_fraction must be in [0, 1]")
    if not all(0 <= b < 1 for b in t.betas):
        raise ConfigError(f"train.betas must be in [0, 1), got {t.betas}")
    if t.grad_clip is not None and t.grad_clip <= 0:
        raise ConfigError(f"train.grad_clip must be > 0 or none, got {t.grad_clip}")
    if not 0 < cfg.data.eval_fraction < 1:
        raise ConfigError(f"data.eval_fraction must be in (0, 1), got {cfg.data.eval_fraction}")
    if cfg.data.sample_rate is not None and cfg.data.sample_rate <= 0:
        raise ConfigError(f"data.sample_rate must be a positive integer (Hz), got {cfg.data.sample_rate}")
    if not isinstance(cfg.model, dict) or "arch_layout" not in cfg.model:
        raise ConfigError("model: expected a model config with an 'arch_layout' (a path or an inline dict)")


# --------------------------------------------------------------------------- loading

def read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot parse {path}: {first}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def resolve_model(value: Any, base: Path) -> dict[str, Any]:
    """A model section is a path (relative to the recipe, then the working directory) or a dict."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"model: expected a path or a mapping, got {value!r}")
    candidates = [base / value, Path(value), base / f"{value}.json", Path("configs") / f"{value}.json"]
    for cand in candidates:
        if cand.is_file():
            return read_mapping(cand)
    raise ConfigError(f"model config not found: {value} (looked in {base} and {Path.cwd()})")


def read_config(source: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> PretrainConfig:
    """THE config reader: a recipe, a model config, or a run's saved recipe, with dotted overrides.

    ``source`` may be a recipe (YAML or JSON with model/data/train sections; ``model`` a path relative
    to the recipe or an inline mapping), a bare model config (``arch_layout`` at the top: data and
    train take their defaults), a run directory, or its ``pretrain_config.json`` (the resolved recipe,
    model inlined, which is a recipe too). Raises ConfigError, one line, on any problem.
    """
    path = Path(source)
    if path.is_dir():
        run = RunDir(path)
        if not run.config_path.is_file():
            raise ConfigError(f"{path}: a directory without {run.CONFIG}, so not a pretraining run")
        path = run.config_path
    raw = read_mapping(path)
    if "arch_layout" in raw:
        raw = {"model": raw}
    unknown = sorted(str(k) for k in raw if k not in ("model", "data", "train"))  # YAML keys may be numbers
    if unknown:
        raise ConfigError(f"unknown section {unknown[0]!r} in {path}; valid sections: model, data, train")
    if "model" not in raw:
        raise ConfigError(f"{path}: missing 'model' (a model-config path or mapping)")
    cfg = PretrainConfig(
        model=resolve_model(raw["model"], path.parent),
        data=build_section(DataConfig, raw.get("data") or {}, "data"),
        train=build_section(TrainConfig, raw.get("train") or {}, "train"),
    )
    return apply_overrides(cfg, overrides or {})


def from_dict(d: dict[str, Any]) -> PretrainConfig:
    """Inverse of ``PretrainConfig.to_dict``, for a recipe already in memory (a checkpoint's
    trainer state holds one); files go through `read_config`."""
    cfg = PretrainConfig(model=d["model"], data=build_section(DataConfig, d.get("data", {}), "data"),
                         train=build_section(TrainConfig, d.get("train", {}), "train"))
    validate(cfg)
    return cfg


def parse_override_args(args: list[str]) -> dict[str, str]:
    """``["--train.lr", "3e-3", "--data.eval_fraction=0.1"]`` -> ``{"train.lr": "3e-3", ...}``."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}; overrides look like --train.lr 3e-3")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise ConfigError(f"override --{key} needs a value")
            value = args[i + 1]
            i += 1
        out[key] = value
        i += 1
    return out
