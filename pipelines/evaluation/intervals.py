"""Confidence intervals on held-out bits/byte: a percentile bootstrap over the evaluation windows.

Every window of a held-out set predicts the same number of bytes, so the set's bits/byte is the
mean of its windows' bits/byte, and resampling windows with replacement gives the spread that mean
would have over other draws of windows from the same genomes. A gap between two arms evaluated on
the same windows is resampled in pairs (the mean of per-window differences), which cancels what the
windows share (a hard stretch of genome is hard for every arm) and gives a much tighter interval
than two separate ones. Windows from one genome are not independent draws of all genomes, so the
interval covers the choice of windows, not of genomes: it is a floor on the uncertainty, and the
seeds' min/max is reported beside it for what training adds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` windows and its bootstrap interval ``[low, high]`` at ``level``."""

    value: float
    low: float
    high: float
    n: int
    level: float = LEVEL

    def text(self, digits: int = 4, signed: bool = False) -> str:
        """``1.9527 [1.9411, 1.9640]``; ``signed`` puts a sign on each number (for gaps)."""
        f = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
        return f"{f.format(self.value)} [{f.format(self.low)}, {f.format(self.high)}]"

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of 0 (a gap the windows cannot explain)."""
        return self.low > 0 or self.high < 0

    def to_json(self) -> dict[str, float | int]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "level": self.level}

    @classmethod
    def from_json(cls, data: dict[str, float | int]) -> Interval:
        return cls(value=float(data["value"]), low=float(data["low"]), high=float(data["high"]),
                   n=int(data["n"]), level=float(data["level"]))


def bootstrap_mean(values: Sequence[float] | np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES,
                   seed: int = 0) -> Interval:
    """The mean of ``values`` (n,) and its percentile-bootstrap interval; deterministic for a seed."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"need a non-empty 1-d sequence of values, got shape {x.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)  # (resamples,)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(value=float(x.mean()), low=float(low), high=float(high), n=int(x.size), level=level)


def paired_difference(a: Sequence[float], b: Sequence[float], level: float = LEVEL,
                      resamples: int = RESAMPLES, seed: int = 0) -> Interval:
    """``mean(b) - mean(a)`` over the same windows, with the interval of the per-window differences."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape:
        raise ValueError(f"paired values need the same windows, got {xa.shape} and {xb.shape}")
    return bootstrap_mean(xb - xa, level, resamples, seed)
