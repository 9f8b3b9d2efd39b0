"""Warmup-stable-decay (WSD) learning-rate schedule as a pure function of the step.

WSD (linear warmup, a long constant phase, a short decay at the end) is what H-Net's authors and
re-implementations use: the constant phase lets one run be extended or branched without
re-planning a cosine, and evaluation during the stable phase is comparable across budgets.
Being a pure function of the step, the schedule needs no state in a checkpoint: resuming at step
``s`` gives the same learning rate as an uninterrupted run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class WSDSchedule:
    """Multiplier of the peak learning rate for each optimizer step ``0 .. total_steps - 1``."""

    total_steps: int
    warmup_steps: int
    decay_steps: int
    min_lr_ratio: float = 0.1
    decay_shape: str = "linear"  # linear | cosine | 1-sqrt

    def __post_init__(self) -> None:
        if self.total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {self.total_steps}")
        if self.warmup_steps < 0 or self.decay_steps < 0:
            raise ValueError("warmup_steps and decay_steps must be >= 0")
        if self.warmup_steps + self.decay_steps > self.total_steps:
            raise ValueError(
                f"warmup ({self.warmup_steps}) + decay ({self.decay_steps}) exceed total steps "
                f"({self.total_steps})"
            )

    @classmethod
    def from_fractions(cls, total_steps: int, warmup_fraction: float, decay_fraction: float,
                       min_lr_ratio: float = 0.1, decay_shape: str = "linear",
                       warmup_steps: int | None = None) -> WSDSchedule:
        """Phase lengths from fractions of the run, rounded, never overlapping."""
        warm = warmup_steps if warmup_steps is not None else round(warmup_fraction * total_steps)
        warm = min(warm, total_steps)
        decay = min(round(decay_fraction * total_steps), total_steps - warm)
        return cls(total_steps, warm, decay, min_lr_ratio, decay_shape)

    def __call__(self, step: int) -> float:
        return wsd_factor(step, self.total_steps, self.warmup_steps, self.decay_steps,
                          self.min_lr_ratio, self.decay_shape)


def wsd_factor(step: int, total_steps: int, warmup_steps: int, decay_steps: int,
               min_lr_ratio: float = 0.1, decay_shape: str = "linear") -> float:
    """LR multiplier in ``[min_lr_ratio, 1]`` for optimizer step ``step`` (0-based).

    Warmup ramps ``1/W, 2/W, .., 1`` so the very first step already moves the weights; the decay
    reaches exactly ``min_lr_ratio`` on the last step. Steps past the end stay at the minimum.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_start = total_steps - decay_steps
    if step < decay_start or decay_steps == 0:
        return 1.0
    progress = min(1.0, (step - decay_start + 1) / decay_steps)  # (0, 1]
    if decay_shape == "linear":
        shape = progress
    elif decay_shape == "cosine":
        shape = 0.5 * (1.0 - math.cos(math.pi * progress))
    elif decay_shape == "1-sqrt":
        shape = 1.0 - math.sqrt(1.0 - progress)
    else:
        raise ValueError(f"unknown decay shape {decay_shape!r}")
    return 1.0 - (1.0 - min_lr_ratio) * shape
