"""Model configuration.

The JSON form reads the six released reference configs unchanged (`arch_layout`, `d_model`,
`d_intermediate`, `vocab_size`, `ssm_cfg`, `attn_cfg`, `tie_embeddings`). Everything the reference
JSON cannot express (Mamba head size, target compression, ratio-loss weight, LR multipliers) lives
in a separate `"hnet_bio"` section, so a reference file is a valid config and our files stay
readable by anyone who knows the reference schema.

Vocabulary: a *level* is one width in `d_model` (level 0 = bytes); a *stage* is one routing step
between two levels. A 1-stage H-Net has 2 levels; the isotropic baseline has 1 level, 0 stages.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hnet_bio.atomic import atomic_write_text
from hnet_bio.errors import ConfigError

LAYOUT_TOKEN = re.compile(r"([mMtT])(\d+)")

# Sizes past these are no model this code can build on any machine (the largest released config,
# hnet_2stage_XL, has widths up to 2048, 3 levels and 1.6 billion parameters); a config.json
# beyond them is refused in one line before anything is allocated, instead of an out-of-memory
# kill or minutes of building a million layers.
MAX_WIDTH = 1 << 17  # d_model, per-level widths
MAX_LAYERS = 10_000  # blocks in the whole model
MAX_LEVELS = 8
MAX_PARAMETERS = 10**12
_INT_LIMITS = {  # (minimum, maximum) of the integer settings
    "vocab_size": (256, 1 << 20), "ssm_cfg.d_conv": (1, 1 << 10), "ssm_cfg.expand": (1, 64),
    "ssm_cfg.d_state": (1, 1 << 14), "ssm_cfg.chunk_size": (1, 1 << 16),
    "hnet_bio.ssm_headdim": (1, MAX_WIDTH),
    "hnet_bio.ssm_ngroups": (1, 1 << 12), "hnet_bio.d_ff_multiple": (1, 1 << 16),
}


@dataclass
class SSMConfig:
    """Mamba-2 settings shared by every level (reference `ssm_cfg`)."""

    d_conv: int = 4
    expand: int = 2
    d_state: int = 128
    chunk_size: int = 256


@dataclass
class AttnConfig:
    """Attention settings, one entry per level (reference `attn_cfg`). window -1 = global."""

    num_heads: list[int] = field(default_factory=lambda: [16])
    rotary_emb_dim: list[int] = field(default_factory=lambda: [32])
    window_size: list[int] = field(default_factory=lambda: [-1])


@dataclass
class HNetBioConfig:
    """Our own fields, kept apart from the reference schema.

    target_ratio: N per stage (bytes per chunk the ratio loss pulls towards); the paper uses 6 for
    one stage and (3, 3) for two. lr_multiplier: one per level, outermost first (None = all 1).
    """

    ssm_headdim: int = 64
    ssm_ngroups: int = 1
    target_ratio: list[float] | None = None
    ratio_loss_weight: float = 0.03
    lr_multiplier: list[float] | None = None
    norm_eps: float = 1e-5
    d_ff_multiple: int = 128


@dataclass
class HNetConfig:
    arch_layout: list[Any]
    d_model: list[int]
    d_intermediate: list[int]
    vocab_size: int = 256
    ssm_cfg: SSMConfig = field(default_factory=SSMConfig)
    attn_cfg: AttnConfig = field(default_factory=AttnConfig)
    tie_embeddings: bool = False
    hnet_bio: HNetBioConfig = field(default_factory=HNetBioConfig)

    def __post_init__(self) -> None:
        if isinstance(self.ssm_cfg, dict):
            self.ssm_cfg = _build(SSMConfig, self.ssm_cfg, "ssm_cfg")
        if isinstance(self.attn_cfg, dict):
            self.attn_cfg = _build(AttnConfig, self.attn_cfg, "attn_cfg")
        if isinstance(self.hnet_bio, dict):
            self.hnet_bio = _build(HNetBioConfig, self.hnet_bio, "hnet_bio")
        for name, cls in (("ssm_cfg", SSMConfig), ("attn_cfg", AttnConfig), ("hnet_bio", HNetBioConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"{name}: expected an object, got {getattr(self, name)!r}")
        self.validate()

    # ---- structure -------------------------------------------------------------------------
    @property
    def num_levels(self) -> int:
        """Widths in the hierarchy: 1 for the isotropic baseline, 2 for a 1-stage H-Net."""
        return len(self.layouts())

    @property
    def num_stages(self) -> int:
        """Routing stages (chunking steps): num_levels - 1."""
        return self.num_levels - 1

    @property
    def is_hierarchical(self) -> bool:
        return self.num_stages > 0

    def layouts(self) -> list[list[str]]:
        """Per level: [encoder, decoder] layout strings, or [main] for the innermost level."""
        out: list[list[str]] = []
        node: Any = self.arch_layout
        while True:
            if len(out) >= MAX_LEVELS:
                raise ConfigError(f"arch_layout: more than {MAX_LEVELS} levels")
            if not isinstance(node, list) or len(node) not in (1, 3):
                raise ConfigError(f"arch_layout: expected [main] or [encoder, inner, decoder], got {node!r}")
            if len(node) == 1:
                if not isinstance(node[0], str):
                    raise ConfigError(
                        f"arch_layout: innermost level must be a layout string, got {node[0]!r}"
                    )
                out.append([node[0]])
                return out
            enc, inner, dec = node
            if not isinstance(enc, str) or not isinstance(dec, str):
                raise ConfigError(
                    f"arch_layout: encoder/decoder must be layout strings, got {enc!r}, {dec!r}"
                )
            out.append([enc, dec])
            node = inner

    def layout_at(self, level: int) -> Any:
        """The (nested) arch_layout node for a level."""
        node: Any = self.arch_layout
        for _ in range(level):
            node = node[1]
        return node

    def target_ratios(self) -> list[float]:
        """N per stage; defaults follow the paper (6 for one stage, 3 per stage otherwise)."""
        if self.hnet_bio.target_ratio is not None:
            return [float(n) for n in self.hnet_bio.target_ratio]
        return [6.0] if self.num_stages == 1 else [3.0] * self.num_stages

    def lr_multipliers(self) -> list[float]:
        if self.hnet_bio.lr_multiplier is not None:
            return [float(x) for x in self.hnet_bio.lr_multiplier]
        return [1.0] * self.num_levels

    def validate(self) -> None:
        layouts = self.layouts()
        n = len(layouts)
        for name in ("d_model", "d_intermediate"):
            if not isinstance(getattr(self, name), list):
                raise ConfigError(f"{name} must be a list (one entry per level), "
                                  f"found {getattr(self, name)!r}")
            if len(getattr(self, name)) != n:
                raise ConfigError(
                    f"{name} has {len(getattr(self, name))} entries; arch_layout has {n} levels"
                )
        for name in ("num_heads", "rotary_emb_dim", "window_size"):
            if not isinstance(getattr(self.attn_cfg, name), list):
                raise ConfigError(f"attn_cfg.{name} must be a list (one entry per level)")
            if len(getattr(self.attn_cfg, name)) < n:
                raise ConfigError(f"attn_cfg.{name} needs one entry per level ({n})")
        self._check_types_and_sizes(layouts)
        for level, parts in enumerate(layouts):
            for part in parts:
                if part and "".join(a + b for a, b in LAYOUT_TOKEN.findall(part)) != part:
                    raise ConfigError(
                        f"layout {part!r} at level {level}: expected letters m/M/t/T with counts"
                    )
                if any(c in part for c in "tT"):
                    d, h = self.d_model[level], self.attn_cfg.num_heads[level]
                    if d % h:
                        raise ConfigError(f"d_model[{level}]={d} is not divisible by num_heads={h}")
                    if (
                        self.attn_cfg.rotary_emb_dim[level] > d // h
                        or self.attn_cfg.rotary_emb_dim[level] % 2
                    ):
                        raise ConfigError(f"rotary_emb_dim[{level}] must be even and <= head dim {d // h}")
                if any(c in part for c in "MT") and self.d_intermediate[level] <= 0:
                    raise ConfigError(f"layout {part!r} needs d_intermediate[{level}] > 0")
                if any(c in part for c in "mM"):
                    d_inner = self.ssm_cfg.expand * self.d_model[level]
                    if d_inner % self.hnet_bio.ssm_headdim:
                        raise ConfigError(
                            f"expand*d_model[{level}]={d_inner} is not divisible by ssm_headdim "
                            f"{self.hnet_bio.ssm_headdim}"
                        )
        for level in range(1, n):
            if self.d_model[level] < self.d_model[level - 1]:
                raise ConfigError(f"d_model must not shrink with depth (level {level})")
        if len(self.target_ratios()) != self.num_stages:
            raise ConfigError(f"hnet_bio.target_ratio needs {self.num_stages} entries (one per stage)")
        if any(r <= 1.0 for r in self.target_ratios()):
            raise ConfigError("hnet_bio.target_ratio entries must be > 1 (bytes per chunk)")
        if len(self.lr_multipliers()) != n:
            raise ConfigError(f"hnet_bio.lr_multiplier needs {n} entries (one per level)")
        if self.vocab_size < 256:
            raise ConfigError("vocab_size must be at least 256 (one entry per byte value)")
        params = self.num_parameters()
        if params > MAX_PARAMETERS:
            raise ConfigError(f"this config describes {params:.3g} parameters, more than any machine "
                              f"holds (limit {MAX_PARAMETERS:.0e}); check d_model, d_intermediate and "
                              "the layer counts")

    def _check_types_and_sizes(self, layouts: list[list[str]]) -> None:
        """Every number is an integer (or a float where one is meant) in a range a model can have:
        checked before any arithmetic on them, so a hostile or hand-edited config.json is one line."""
        for level in range(len(layouts)):
            _int_in(f"d_model[{level}]", self.d_model[level], 1, MAX_WIDTH)
            _int_in(f"d_intermediate[{level}]", self.d_intermediate[level], 0, 8 * MAX_WIDTH)
            _int_in(f"attn_cfg.num_heads[{level}]", self.attn_cfg.num_heads[level], 1, MAX_WIDTH)
            _int_in(f"attn_cfg.rotary_emb_dim[{level}]", self.attn_cfg.rotary_emb_dim[level], 0, MAX_WIDTH)
            _int_in(f"attn_cfg.window_size[{level}]", self.attn_cfg.window_size[level], -1, 1 << 40)
        for name, (low, high) in _INT_LIMITS.items():
            section, _, key = name.rpartition(".")
            owner = getattr(self, section) if section else self
            _int_in(name, getattr(owner, key), low, high)
        if not isinstance(self.tie_embeddings, bool):
            raise ConfigError(f"tie_embeddings must be true or false, found {self.tie_embeddings!r}")
        for name in ("ratio_loss_weight", "norm_eps"):
            value = getattr(self.hnet_bio, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"hnet_bio.{name} must be a finite number >= 0, found {value!r}")
        for name in ("target_ratio", "lr_multiplier"):
            values = getattr(self.hnet_bio, name)
            if values is not None and (not isinstance(values, list) or any(
                    isinstance(v, bool) or not isinstance(v, (int, float)) or v != v for v in values)):
                raise ConfigError(f"hnet_bio.{name} must be a list of numbers, found {values!r}")
        layers = 0
        for level, parts in enumerate(layouts):
            for part in parts:
                counts = [int(c) for _, c in LAYOUT_TOKEN.findall(part)]
                layers += sum(counts)
                if layers > MAX_LAYERS:
                    raise ConfigError(f"layout {part!r} at level {level}: more than {MAX_LAYERS:,} layers "
                                      "in the model")

    def num_parameters(self) -> int:
        """The model's parameter count, from the config alone (nothing is built): what loading needs
        in memory is known before any allocation. Equals ``sum(p.numel())`` of the built model
        (tests/hnet_bio/test_hostile_checkpoints.py holds them equal)."""
        d0 = self.d_model[0]
        total = self.vocab_size * d0 * (1 if self.tie_embeddings else 2)  # embeddings + lm_head
        for level, parts in enumerate(self.layouts()):
            d = self.d_model[level]
            for part in parts:
                total += d  # the stack's final RMSNorm
                for kind, count in LAYOUT_TOKEN.findall(part):
                    total += int(count) * self._block_parameters(kind, level)
            if len(parts) == 2:  # a stage: routing q/k, fp32 residual projection
                total += 2 * d * d + d * d + d
            if level > 0 and d > self.d_model[level - 1]:
                total += d - self.d_model[level - 1]  # pad_dimension
        return total

    def _block_parameters(self, kind: str, level: int) -> int:
        d = self.d_model[level]
        total = d  # norm1
        if kind in "mM":
            ssm, g = self.ssm_cfg, self.hnet_bio.ssm_ngroups
            inner = ssm.expand * d
            heads = inner // self.hnet_bio.ssm_headdim
            conv = inner + 2 * g * ssm.d_state
            total += 3 * heads + d * (2 * inner + 2 * g * ssm.d_state + heads)  # dt_bias, A_log, D; in_proj
            total += conv * ssm.d_conv + conv + inner + inner * d  # conv1d (+bias), gated norm, out_proj
        else:
            total += 4 * d * d  # Wqkv, out_proj
        if kind in "MT":
            multiple = self.hnet_bio.d_ff_multiple
            hidden = (self.d_intermediate[level] + multiple - 1) // multiple * multiple
            total += d + 3 * d * hidden  # norm2, fc1 (value | gate), fc2
        return total

    # ---- JSON ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HNetConfig:
        return _build(cls, data, "config")

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> HNetConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object")
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def to_dict(self, reference_only: bool = False) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if reference_only:
            data.pop("hnet_bio")
        return data

    def save(self, path: str | os.PathLike[str]) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")


def _int_in(name: str, value: object, low: int, high: int) -> None:
    """An integer (not a bool, not a string or float) in [low, high], else one ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, found {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} = {value:,} is out of range (expected {low:,} to {high:,})")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(names)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
