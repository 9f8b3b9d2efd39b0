"""A compare recipe: the arms (one model config each), one shared data/train section, the budget.

::

    data:  {corpus: dna-bacteria, eval_fraction: 0.05}
    train: {seq_len: 512, batch_size: 4, lr: 3.0e-3, eval_windows: 32, ...}   # shared by every arm
    budget: 1048576            # training bytes per arm
    seeds: [0]
    reference: [hnet1, hnet2]  # the H-Net arms whose data efficiency is measured
    arms:
      hnet1: {model: tiny-1stage.json}
      transformer: {model: compare/tiny-transformer.json, match_flops: hnet1}
    eval_data: {leptospira: path/to/test.gbk.gz}
    quick: {budget: 65536, train: {seq_len: 128}}   # what --quick changes

``match_flops: ARM`` resizes the arm's depth (the number in its single layout token, ``T5`` or
``m12``) so that its training FLOPs per byte are the closest to ARM's at ARM's target ratios, so
"FLOPs-matched" is arithmetic on the models, printed with the result; ``match_params: ARM`` does
the same for the parameter count.

The curves are read before the learning-rate decay as well as at the end (the H-Net paper reads
its multiplier on the stable phase, where no arm has had the boost a decay gives): every run is
evaluated at the last step of its stable phase (`CompareRecipe.stable_end`) besides the
log-spaced points.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hnet_bio import build_model
from hnet_bio.config import HNetConfig
from hnet_bio.errors import ConfigError
from hnet_bio.flops import flops_per_byte
from pipelines.errors import UsageError
from pipelines.training.schedule import WSDSchedule
from pipelines.training.train_config import (
    DataConfig,
    PretrainConfig,
    TrainConfig,
    build_section,
    read_mapping,
    resolve_model,
    validate,
)

POINTS_PER_DECADE = 10  # default evaluations per decade of training bytes
_DEPTH = re.compile(r"^([a-zA-Z]+)(\d+)$")


@dataclass
class Arm:
    """One model of the comparison; ``model`` is the resolved model-config dict."""

    name: str
    model: dict[str, Any]
    match_flops: str | None = None
    source: str = ""
    match_params: str | None = None

    @property
    def matched_to(self) -> str | None:
        """The arm this one is sized against (FLOPs or parameters), if any."""
        return self.match_flops or self.match_params

    @property
    def layout(self) -> list[Any]:
        """The model's ``arch_layout`` (a nested list marks a chunking stage)."""
        return list(self.model.get("arch_layout", []))

    @property
    def hierarchical(self) -> bool:
        """Whether the model chunks (an H-Net) rather than reading bytes at one rate (isotropic)."""
        return any(isinstance(x, list) for x in self.layout)


@dataclass
class CompareRecipe:
    arms: list[Arm]
    data: DataConfig
    train: dict[str, Any]  # TrainConfig fields shared by every arm (validated)
    budget: int
    seeds: list[int]
    reference: list[str]
    eval_data: dict[str, str | list[str]] = field(default_factory=dict)
    max_order: int = 12
    path: str = ""
    points_per_decade: int = POINTS_PER_DECADE

    def arm(self, name: str) -> Arm:
        return next(a for a in self.arms if a.name == name)

    def step_bytes(self) -> int:
        t = self.train_config(0)
        return t.batch_size * t.seq_len * t.grad_accum

    def train_config(self, seed: int) -> TrainConfig:
        return build_section(TrainConfig, {**self.train, "seed": seed}, "train")

    def eval_points(self) -> list[int]:
        """Log-spaced training-byte counts from one step to the budget, ``points_per_decade`` per
        decade, and the end of the stable phase."""
        lo, points = self.step_bytes(), [self.stable_end()]
        k = 0
        while True:
            b = round(self.budget * 10 ** (-k / self.points_per_decade))
            if b < lo:
                break
            points.append(b)
            k += 1
        return sorted(set(points))

    def budget_end(self) -> int:
        """Training bytes after the last step (the budget rounded up to whole steps)."""
        return math.ceil(self.budget / self.step_bytes()) * self.step_bytes()

    def stable_end(self) -> int:
        """Training bytes after the last step at the peak learning rate (before the decay starts),
        as the training loop's warmup-stable-decay schedule splits the run's steps."""
        t = self.train_config(0)
        steps = math.ceil(self.budget / self.step_bytes())
        sched = WSDSchedule.from_fractions(steps, t.warmup_fraction, t.decay_fraction, t.min_lr_ratio,
                                           t.decay_shape, t.warmup_steps)
        return (steps - sched.decay_steps) * self.step_bytes()

    def pretrain_config(self, arm: Arm, seed: int) -> PretrainConfig:
        """The ordinary pretraining recipe of one arm and seed: same data, windows and eval points."""
        train = {
            **self.train,
            "seed": seed,
            "byte_budget": self.budget,
            "eval_every": 0,
            "eval_at_bytes": self.eval_points(),
        }
        steps = math.ceil(self.budget / self.step_bytes())
        train.setdefault("save_every", max(1, steps // 8))  # resumable in about eighths
        train.setdefault("keep_last", 1)
        cfg = PretrainConfig(
            model=copy.deepcopy(arm.model),
            data=dataclasses.replace(self.data),
            train=build_section(TrainConfig, train, "train"),
        )
        validate(cfg)
        return cfg

    def to_json(self) -> dict[str, Any]:
        return {
            "arms": [
                {"name": a.name, "model": a.model, "match_flops": a.match_flops, "source": a.source,
                 "match_params": a.match_params}
                for a in self.arms
            ],
            "data": dataclasses.asdict(self.data),
            "train": self.train,
            "budget": self.budget,
            "seeds": self.seeds,
            "reference": self.reference,
            "eval_data": self.eval_data,
            "anchors": {"max_order": self.max_order},
            "path": self.path,
            "points_per_decade": self.points_per_decade,
            "eval_points": self.eval_points(),
            "step_bytes": self.step_bytes(),
            "stable_end": self.stable_end(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompareRecipe:
        """The recipe as `to_json` recorded it in compare.json (its arms already FLOP-matched); the
        recorded ``eval_points``, ``step_bytes`` and ``stable_end`` follow from the rest and are
        derived again."""
        anchors = data["anchors"]
        return cls(
            arms=[Arm(**a) for a in data["arms"]],
            data=build_section(DataConfig, data["data"], "data"),
            train=dict(data["train"]),
            budget=data["budget"],
            seeds=list(data["seeds"]),
            reference=list(data["reference"]),
            eval_data=dict(data["eval_data"]),
            max_order=anchors["max_order"],
            path=data["path"],
            points_per_decade=data.get("points_per_decade", POINTS_PER_DECADE),
        )


def load_recipe(
    path: str | Path,
    quick: bool = False,
    budget: int | None = None,
    seeds: list[int] | None = None,
    data: str | list[str] | None = None,
) -> CompareRecipe:
    """Read, resolve and check a compare recipe; every problem is one ConfigError/UsageError line."""
    path = Path(path)
    raw = _Sections.read(path, quick)
    arms = _arms(raw.arms, path)
    names = [a.name for a in arms]
    data_raw = dict(raw.data or {})
    if data is not None:
        data_raw["corpus"] = data
    train = dict(raw.train or {})
    for forbidden in ("byte_budget", "max_steps", "seed", "eval_every", "eval_at_bytes"):
        if forbidden in train:
            raise ConfigError(f"{path}: train.{forbidden} is set by compare (use budget:, seeds:)")
    build_section(TrainConfig, train, "train")  # types and unknown keys, one line each
    budget_value = budget if budget is not None else raw.budget
    if budget_value is None:
        raise ConfigError(f"{path}: missing 'budget' (training bytes per arm)")
    budget_int = build_section(_Budget, {"budget": budget_value}, "compare").budget
    seed_list = seeds if seeds is not None else raw.seeds
    if isinstance(seed_list, int):
        seed_list = [seed_list]
    if not seed_list or not all(isinstance(s, int) and s >= 0 for s in seed_list):
        raise ConfigError(f"{path}: seeds must be a list of non-negative integers, got {seed_list!r}")
    reference = raw.reference or [a.name for a in arms if a.hierarchical]
    reference = [reference] if isinstance(reference, str) else list(reference)
    eval_data = raw.eval_data or {}
    if not isinstance(eval_data, dict):
        raise ConfigError(f"{path}: eval_data must map names to a corpus or files")
    anchors = raw.anchors or {}
    per_decade = raw.points_per_decade
    if not isinstance(per_decade, int) or isinstance(per_decade, bool) or not 1 <= per_decade <= 100:
        raise ConfigError(f"{path}: points_per_decade must be an integer from 1 to 100, got {per_decade!r}")
    recipe = CompareRecipe(
        arms=arms,
        data=build_section(DataConfig, data_raw, "data"),
        train=train,
        budget=budget_int,
        seeds=sorted(set(seed_list)),
        reference=reference,
        eval_data=dict(eval_data),
        max_order=int(anchors.get("max_order", 12)),
        path=str(path),
        points_per_decade=per_decade,
    )
    _check(recipe, names, path)
    _match_sizes(recipe)
    return recipe


@dataclass
class _Sections:
    """The top-level sections of a recipe file as written, before each is checked (`load_recipe`)."""

    data: Any = None
    train: Any = None
    budget: Any = None
    seeds: Any = field(default_factory=lambda: [0])
    reference: Any = None
    arms: Any = None
    eval_data: Any = None
    quick: Any = None
    anchors: Any = None
    points_per_decade: Any = POINTS_PER_DECADE

    @classmethod
    def read(cls, path: Path, quick: bool) -> _Sections:
        """The file's sections; with ``quick``, its ``quick`` section merged over them (``train`` and
        ``arms`` key by key, any other section replaced)."""
        raw = read_mapping(path)
        unknown = sorted(set(raw) - set(SECTIONS))
        if unknown:
            raise ConfigError(
                f"{path}: unknown section '{unknown[0]}'; valid sections: {', '.join(SECTIONS)}"
            )
        sections = cls(**raw)
        q = (sections.quick or {}) if quick else {}
        if not isinstance(q, dict):
            raise ConfigError(f"{path}: 'quick' must be a mapping")
        for key, value in q.items():
            if key == "train":
                sections.train = {**(sections.train or {}), **value}
            elif key == "arms" and isinstance(value, dict):
                sections.arms = {**(sections.arms or {}), **value}
            elif key in SECTIONS:
                setattr(sections, key, value)
        return sections


SECTIONS = tuple(f.name for f in dataclasses.fields(_Sections))


def _arms(arms_raw: Any, path: Path) -> list[Arm]:
    """The ``arms`` section: each name maps to a model config (``FILE`` or ``{model: FILE,
    match_flops: ARM}`` or ``{model: FILE, match_params: ARM}``)."""
    if not isinstance(arms_raw, dict) or not arms_raw:
        raise ConfigError(f"{path}: 'arms' must map arm names to {{model: FILE}}")
    arms = []
    for name, spec in arms_raw.items():
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(name)):
            raise ConfigError(f"{path}: arm name {name!r} must be letters, digits, '.', '_' or '-'")
        spec = {"model": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or "model" not in spec or set(spec) - {"model", "match_flops",
                                                                             "match_params"}:
            raise ConfigError(f"{path}: arm {name!r} needs {{model: FILE}} (and optionally match_flops: ARM "
                              "or match_params: ARM)")
        if "match_flops" in spec and "match_params" in spec:
            raise ConfigError(f"{path}: arm {name!r}: give match_flops or match_params, not both")
        given = spec["model"]
        source = given if isinstance(given, str) else "inline"
        arms.append(Arm(str(name), resolve_model(given, path.parent), spec.get("match_flops"), source,
                        spec.get("match_params")))
    return arms


@dataclass
class _Budget:
    budget: int = 0


def _check(recipe: CompareRecipe, names: list[str], path: Path) -> None:
    for ref in recipe.reference:
        if ref not in names:
            raise UsageError(f"{path}: reference arm {ref!r} is not an arm (arms: {', '.join(names)})")
    for a in recipe.arms:
        if a.matched_to is not None and a.matched_to not in names:
            what = "FLOPs" if a.match_flops else "parameters"
            raise UsageError(
                f"{path}: arm {a.name!r} matches {what} of unknown arm {a.matched_to!r} "
                f"(arms: {', '.join(names)})"
            )
    vocab = {a.name: a.model.get("vocab_size") for a in recipe.arms}
    if len(set(vocab.values())) > 1:
        raise UsageError(
            f"{path}: arms have different vocabularies ({', '.join(f'{k}: {v}' for k, v in vocab.items())}); "
            "every arm must predict the same bytes"
        )
    step = recipe.step_bytes()
    if recipe.budget < step:
        raise UsageError(
            f"budget {recipe.budget} bytes is smaller than one training step "
            f"({step} bytes = batch_size x seq_len x grad_accum)"
        )
    for a in recipe.arms:  # every model config builds (typos fail here, before anything is trained)
        try:
            recipe.pretrain_config(a, recipe.seeds[0])
            model_flops(a.model, recipe.train_config(0).seq_len)
        except (ConfigError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: arm {a.name!r}: bad model config ({exc})") from None


def model_flops(model: dict[str, Any], seq_len: int, ratios: list[float] | None = None) -> float:
    """Training FLOPs per byte of a model config (built on the meta device: no memory, no time)."""
    with torch.device("meta"):
        m = build_model(HNetConfig.from_dict(copy.deepcopy(model)))
    return flops_per_byte(m, seq_len, training=True, ratios=ratios)


def with_depth(model: dict[str, Any], depth: int) -> dict[str, Any]:
    """``model`` with the depth of its single layout token set (``T5`` -> ``T{depth}``)."""
    out = copy.deepcopy(model)
    letter = _DEPTH.match(out["arch_layout"][0]).group(1)  # type: ignore[union-attr]
    out["arch_layout"] = [f"{letter}{depth}"]
    return out


def model_params(model: dict[str, Any]) -> int:
    """Parameter count of a model config (built on the meta device)."""
    with torch.device("meta"):
        m = build_model(HNetConfig.from_dict(copy.deepcopy(model)))
    return int(sum(p.numel() for p in m.parameters()))


def _match_sizes(recipe: CompareRecipe) -> None:
    """Resize every ``match_flops`` arm's depth to the reference arm's training FLOPs/byte (target
    ratios), and every ``match_params`` arm's to its parameter count: the closest depth wins."""
    seq_len = recipe.train_config(0).seq_len
    for a in recipe.arms:
        if a.matched_to is None:
            continue
        layout = a.layout
        if len(layout) != 1 or not isinstance(layout[0], str) or not _DEPTH.match(layout[0]):
            key = "match_flops" if a.match_flops else "match_params"
            raise ConfigError(
                f"arm {a.name!r}: {key} needs a single-token isotropic layout such as "
                f"['T5'] or ['m12'], got {layout}"
            )

        def size(model: dict[str, Any], by_flops: bool = a.match_flops is not None) -> float:
            return model_flops(model, seq_len) if by_flops else float(model_params(model))

        target = size(recipe.arm(a.matched_to).model)
        best, best_err = 1, math.inf
        for depth in range(1, 257):  # sizes grow with depth: stop at the first one past the target
            got = size(with_depth(a.model, depth))
            if abs(got - target) < best_err:
                best, best_err = depth, abs(got - target)
            if got >= target:
                break
        a.model = with_depth(a.model, best)
