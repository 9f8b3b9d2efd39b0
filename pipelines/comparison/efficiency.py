"""The data-efficiency multiplier, read off held-out curves with log-spaced training bytes.

For a reference (H-Net) point ``(B, v)`` and a baseline curve ``(b_i, v_i)``: the training bytes the
baseline needs to first reach ``v``, interpolated linearly in ``log b`` between the two evaluations
that straddle ``v``, divided by ``B``. A baseline that never gets to ``v`` within its curve yields
a lower bound, "more than b_max / B"; one already below ``v`` at its first evaluation an upper
bound, "at most b_0 / B". The gap at equal bytes is the baseline's bits/byte at ``B`` (interpolated
the same way) minus ``v``.

With equal budgets that one-way reading can only bound an H-Net that ends ahead ("more than
1.00x"). `matched_multiplier` reads both ways at a common byte count ``S``, as the H-Net paper reads
its curves: when the H-Net is ahead at ``S``, ``S`` over the bytes the H-Net needed to reach the
baseline's value at ``S``; when it is behind, the bytes the baseline needed to reach the H-Net's
value over ``S``. Both are "baseline bytes / H-Net bytes for the same held-out bits/byte". With
``S`` the end of the stable phase, neither curve has had the drop a learning-rate decay gives.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Multiplier:
    """``value`` is exact when ``bound`` is "=", a lower bound for ">" and an upper bound for "<"."""

    value: float
    bound: str  # "=" | ">" | "<"
    baseline_bytes: float  # bytes the baseline needed (or the bound on them)
    reference_bytes: float

    def text(self) -> str:
        word = {"=": "", ">": "more than ", "<": "at most "}[self.bound]
        return f"{word}{self.value:.2f}x"

    def to_json(self) -> dict[str, object]:
        return {
            "value": self.value,
            "bound": self.bound,
            "text": self.text(),
            "baseline_bytes": self.baseline_bytes,
            "reference_bytes": self.reference_bytes,
        }


def bytes_to_reach(curve: Sequence[tuple[float, float]], target: float) -> tuple[float, str]:
    """(training bytes, bound) at which ``curve`` (bytes, bits/byte), sorted by bytes, first reaches
    ``target``: "=" interpolated in log bytes, ">" never (its last bytes), "<" at its first point."""
    pts = sorted((float(b), float(v)) for b, v in curve if b > 0 and math.isfinite(v))
    if not pts:
        raise ValueError("empty curve")
    if pts[0][1] <= target:
        return pts[0][0], "<" if len(pts) > 1 or pts[0][1] < target else "="
    for (b0, v0), (b1, v1) in itertools.pairwise(pts):
        if v1 <= target:
            frac = (v0 - target) / (v0 - v1)
            return math.exp(math.log(b0) + frac * (math.log(b1) - math.log(b0))), "="
    return pts[-1][0], ">"


def value_at(curve: Sequence[tuple[float, float]], at_bytes: float) -> float | None:
    """Bits/byte of ``curve`` at ``at_bytes``, linear in log bytes; None outside the curve."""
    pts = sorted((float(b), float(v)) for b, v in curve if b > 0)
    for (b0, v0), (b1, v1) in itertools.pairwise(pts):
        if b0 <= at_bytes <= b1:
            if b1 == b0:
                return v1
            frac = (math.log(at_bytes) - math.log(b0)) / (math.log(b1) - math.log(b0))
            return v0 + frac * (v1 - v0)
    if pts and pts[-1][0] == at_bytes:
        return pts[-1][1]
    return None


def multiplier(
    reference_bytes: float, reference_bpb: float, baseline: Sequence[tuple[float, float]]
) -> Multiplier:
    """Bytes the baseline needs to reach ``reference_bpb``, over ``reference_bytes``."""
    need, bound = bytes_to_reach(baseline, reference_bpb)
    return Multiplier(need / reference_bytes, bound, need, reference_bytes)


_FLIPPED = {"=": "=", "<": ">", ">": "<"}


def matched_multiplier(reference: Sequence[tuple[float, float]], baseline: Sequence[tuple[float, float]],
                       at_bytes: float) -> Multiplier:
    """Baseline bytes / reference bytes for equal bits/byte, read at ``at_bytes`` (both curves are cut
    there and must have an evaluation at exactly that byte count)."""
    ref = [(float(b), float(v)) for b, v in reference if 0 < b <= at_bytes]
    base = [(float(b), float(v)) for b, v in baseline if 0 < b <= at_bytes]
    ends = {b: v for b, v in ref if b == at_bytes}, {b: v for b, v in base if b == at_bytes}
    if not ends[0] or not ends[1]:
        raise ValueError(f"both curves need an evaluation at {at_bytes:g} bytes")
    ref_end, base_end = ends[0][float(at_bytes)], ends[1][float(at_bytes)]
    if ref_end <= base_end:  # the reference is ahead: how early did it reach the baseline's value?
        need, bound = bytes_to_reach(ref, base_end)
        return Multiplier(at_bytes / need, _FLIPPED[bound], float(at_bytes), need)
    need, bound = bytes_to_reach(base, ref_end)
    return Multiplier(need / at_bytes, bound, need, float(at_bytes))


def multiplier_curve(
    reference: Sequence[tuple[float, float]], baseline: Sequence[tuple[float, float]]
) -> list[tuple[float, Multiplier]]:
    """The multiplier at every point of the reference curve (how the advantage grows with data)."""
    return [(b, multiplier(b, v, baseline)) for b, v in sorted(reference) if b > 0]


@dataclass(frozen=True)
class Spread:
    """A multiplier over seeds: median, min, max, how many seeds, and their common bound ("=", ">",
    "<"), or "mixed" when the seeds' bounds differ."""

    median: float
    min: float
    max: float
    n: int
    bound: str

    def to_json(self) -> dict[str, object]:
        return {"median": self.median, "min": self.min, "max": self.max, "n": self.n, "bound": self.bound}


def spread(values: Sequence[Multiplier]) -> Spread:
    """Median, min and max over seeds; bounds carry over (a median of lower bounds is one too)."""
    if not values:
        raise ValueError("no multipliers to summarise")
    vs = sorted(values, key=lambda m: m.value)
    mid = vs[len(vs) // 2] if len(vs) % 2 else None
    median = mid.value if mid else (vs[len(vs) // 2 - 1].value + vs[len(vs) // 2].value) / 2
    bounds = {m.bound for m in values}
    bound = bounds.pop() if len(bounds) == 1 else "mixed"
    return Spread(median=median, min=vs[0].value, max=vs[-1].value, n=len(vs), bound=bound)
