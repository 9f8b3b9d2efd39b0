"""Every number of one comparison, as types: built once by `numbers.gather`, read by attribute in
`report` and `figures`, and written as results.json by `ComparisonResults.to_json`.

results.json is the comparison's record for people and other tools, so each ``to_json`` writes the
keys, their order and the values the file has always had (seeds as strings, floats untouched).
The caches compare keeps beside the runs (``anchors.json``, each run's ``extra_eval.json``) are
read back with ``from_json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.comparison.efficiency import Multiplier, Spread
from pipelines.comparison.recipe import CompareRecipe
from pipelines.evaluation.anchors import MarkovResult
from pipelines.evaluation.intervals import Interval
from pipelines.evaluation.result import AnchorNumbers


class _ToJson(Protocol):
    def to_json(self) -> Any: ...


def _json(x: _ToJson | None) -> Any:
    """``x.to_json()``, or None for a number not measured."""
    return None if x is None else x.to_json()


@dataclass(frozen=True)
class CurvePoint:
    """One held-out evaluation of an arm after ``train_bytes`` training bytes: bits/byte, bytes
    per chunk of each stage (outermost first; empty for an isotropic arm) and, when the run logged
    them, each window's bits/byte (what the intervals resample; not written to results.json)."""

    train_bytes: int
    bpb: float
    compression: list[float]
    window_bpb: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"train_bytes": self.train_bytes, "bpb": self.bpb, "compression": self.compression}


@dataclass(frozen=True)
class ArmResult:
    """One arm trained with one seed (one run directory), finished or not: its held-out curve
    (empty before the first evaluation), median training bytes/s, bytes trained so far."""

    curve: list[CurvePoint]
    bytes_per_s: float | None
    train_bytes: int
    completed: bool

    @property
    def final_bpb(self) -> float | None:
        return self.curve[-1].bpb if self.curve else None

    @property
    def final_compression(self) -> list[float]:
        return self.curve[-1].compression if self.curve else []

    def points(self) -> list[tuple[float, float]]:
        """(training bytes, bits/byte) of every evaluation, as `efficiency` reads curves."""
        return [(p.train_bytes, p.bpb) for p in self.curve]

    def at(self, train_bytes: int) -> CurvePoint | None:
        """The evaluation after exactly ``train_bytes`` training bytes, if there is one."""
        return next((p for p in self.curve if p.train_bytes == train_bytes), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "curve": [p.to_json() for p in self.curve],
            "bytes_per_s": self.bytes_per_s,
            "train_bytes": self.train_bytes,
            "completed": self.completed,
            "final_bpb": self.final_bpb,
            "final_compression": self.final_compression,
        }


@dataclass(frozen=True)
class ArmFlops:
    """Training FLOPs per byte of an arm at its target ratios and at the compression its seeds
    reached (None before an H-Net arm has evaluated), and its parameter count."""

    at_target: float
    at_reached: float | None
    params: int

    def to_json(self) -> dict[str, Any]:
        return {"at_target": self.at_target, "at_reached": self.at_reached, "params": self.params}


@dataclass(frozen=True)
class Reading:
    """The multiplier read both ways at one byte count (`efficiency.matched_multiplier`) for each
    seed that has evaluations there, its spread over seeds, and the baseline-minus-H-Net gap at
    that count with its paired 95% bootstrap interval over the held-out windows (None when the runs
    did not log per-window values)."""

    at_bytes: int
    seeds: list[int]
    per_seed: list[Multiplier]
    spread: Spread
    gaps: list[Interval | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "at_bytes": self.at_bytes,
            "seeds": self.seeds,
            "per_seed": [m.to_json() for m in self.per_seed],
            "spread": self.spread.to_json(),
            "gap_bpb": [_json(g) for g in self.gaps],
        }


@dataclass(frozen=True)
class Efficiency:
    """One reference (H-Net) arm against one baseline arm: the one-way multiplier of each seed at
    the end, their spread, the baseline-minus-reference bits/byte at the reference's final bytes
    (None outside the baseline's curve), per seed the multiplier at each reference evaluation of
    the last decade, and the two-way readings at the end of the stable phase and at the end."""

    reference: str
    baseline: str
    per_seed: list[Multiplier]
    spread: Spread
    gaps: list[float | None]
    curve: dict[int, list[Multiplier]]
    stable: Reading | None = None
    end: Reading | None = None

    def first_curve(self) -> list[Multiplier]:
        """The last-decade multipliers of the first seed that has them (the report's table)."""
        return next(iter(self.curve.values()), [])

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "baseline": self.baseline,
            "per_seed": [m.to_json() for m in self.per_seed],
            "spread": self.spread.to_json(),
            "gap_bpb_at_equal_bytes": self.gaps,
            "curve": {str(seed): [{"reference_bytes": m.reference_bytes, **m.to_json()} for m in ms]
                      for seed, ms in self.curve.items()},
            "stable_phase": _json(self.stable),
            "end": _json(self.end),
        }


@dataclass(frozen=True)
class ArmIntervals:
    """One arm and seed's held-out bits/byte with its 95% bootstrap interval over the windows, at
    the end of the stable phase and at the end (None where it has no evaluation with windows)."""

    stable: Interval | None
    final: Interval | None

    def to_json(self) -> dict[str, Any]:
        return {"stable_phase": _json(self.stable),
                "final": _json(self.final)}


@dataclass(frozen=True)
class SeenBytesPoint:
    """The Markov anchor counted on only the first ``train_bytes`` of the windows the arms read."""

    train_bytes: int
    bpb: float
    best_order: int

    def to_json(self) -> dict[str, Any]:
        return {"train_bytes": self.train_bytes, "bpb": self.bpb, "best_order": self.best_order}


def anchor_numbers_from_json(data: dict[str, Any]) -> AnchorNumbers:
    """The inverse of `AnchorNumbers.to_json` (anchors.json holds them for the held-out and extra sets)."""
    return AnchorNumbers(MarkovResult.from_json(data["markov"]), xz=data["xz"], zstd=data["zstd"],
                         compressed=data["bytes"])


@dataclass(frozen=True)
class Anchors:
    """The classical anchors of a comparison: on the held-out windows the arms were evaluated on,
    Markov on the bytes the arms had seen at a few points, and each extra held-out set."""

    held_out: AnchorNumbers
    markov_on_seen_bytes: list[SeenBytesPoint]
    extra: dict[str, AnchorNumbers]

    def to_json(self) -> dict[str, Any]:
        return {
            "held_out": self.held_out.to_json(),
            "markov_on_seen_bytes": [p.to_json() for p in self.markov_on_seen_bytes],
            "extra": {name: a.to_json() for name, a in self.extra.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Anchors:
        return cls(
            held_out=anchor_numbers_from_json(data["held_out"]),
            markov_on_seen_bytes=[SeenBytesPoint(**p) for p in data["markov_on_seen_bytes"]],
            extra={name: anchor_numbers_from_json(a) for name, a in data["extra"].items()},
        )


@dataclass(frozen=True)
class ExtraEvalEntry:
    """One checkpoint on one extra held-out set (an entry of a run's ``extra_eval.json``); a new
    checkpoint or another ``spec`` means it is measured again."""

    checkpoint: str
    spec: str | list[str]
    bpb: float
    predicted_bytes: int
    compression: list[float]
    interval: Interval | None = None  # over the set's windows (entries from before it are measured again)
    max_windows: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "spec": self.spec, "bpb": self.bpb,
                "bytes": self.predicted_bytes, "compression": self.compression,
                "interval": _json(self.interval),
                "max_windows": self.max_windows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExtraEvalEntry:
        interval = data.get("interval")
        return cls(checkpoint=data["checkpoint"], spec=data["spec"], bpb=data["bpb"],
                   predicted_bytes=data["bytes"], compression=data["compression"],
                   interval=Interval.from_json(interval) if interval else None,
                   max_windows=data.get("max_windows"))


@dataclass(frozen=True)
class Machine:
    """Where the report was built (its training throughputs are this machine's)."""

    python: str
    torch: str
    numpy: str
    hnet_bio: str
    platform: str
    processor: str
    cpus: int | None
    threads: int
    cuda: str | None

    def to_json(self) -> dict[str, Any]:
        return {"python": self.python, "torch": self.torch, "numpy": self.numpy, "hnet_bio": self.hnet_bio,
                "platform": self.platform, "processor": self.processor, "cpus": self.cpus,
                "threads": self.threads, "cuda": self.cuda}


ExtraEval = dict[str, dict[str, dict[int, ExtraEvalEntry]]]  # set name -> arm -> seed -> last checkpoint


@dataclass(frozen=True)
class ComparisonResults:
    """What results.json holds. ``recipe`` is compare.json's recipe read once (`CompareRecipe`);
    ``recipe_json`` the same recipe as compare.json recorded it, written back verbatim. ``arms``:
    arm -> seed -> its run; ``anchors`` and ``extra_eval`` are empty until some arm has evaluated."""

    recipe: CompareRecipe
    recipe_json: dict[str, Any]
    commands: list[str]
    created: str | None
    reported: str
    machine: Machine
    arms: dict[str, dict[int, ArmResult]]
    flops_per_byte: dict[str, ArmFlops]
    efficiency: list[Efficiency]
    anchors: Anchors | None
    extra_eval: ExtraEval
    complete: bool
    intervals: dict[str, dict[int, ArmIntervals]]

    def runs(self) -> list[ArmResult]:
        """Every arm x seed."""
        return [r for per in self.arms.values() for r in per.values()]

    def to_json(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe_json,
            "commands": self.commands,
            "created": self.created,
            "reported": self.reported,
            "machine": self.machine.to_json(),
            "arms": {k: {str(s): r.to_json() for s, r in per.items()} for k, per in self.arms.items()},
            "flops_per_byte": {k: f.to_json() for k, f in self.flops_per_byte.items()},
            "efficiency": [e.to_json() for e in self.efficiency],
            "anchors": self.anchors.to_json() if self.anchors is not None else {},
            "extra_eval": {name: {arm: {str(s): e.bpb for s, e in per.items()} for arm, per in arms.items()}
                           for name, arms in self.extra_eval.items()},
            "extra_eval_intervals": {
                name: {arm: {str(s): _json(e.interval)
                             for s, e in per.items()} for arm, per in arms.items()}
                for name, arms in self.extra_eval.items()},
            "intervals": {k: {str(s): i.to_json() for s, i in per.items()}
                          for k, per in self.intervals.items()},
            "stable_end": self.recipe.stable_end(),
            "complete": self.complete,
        }
