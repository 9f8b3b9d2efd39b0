"""The typed result of analysing one sequence: per byte and per stage, what the routers decided.

Everything is in byte coordinates of the analysed sequence (0-based), whatever the stage, so a
consumer (BED writer, browser, embedder) never has to know the chunk resolutions:

- stage 0 sees every byte; stage s >= 1 sees only the bytes that start a chunk of stage s - 1
  (the inner network runs on those), so its probability is NaN elsewhere and it can only place a
  boundary where stage s - 1 did (boundaries are nested);
- ``chunk_index[s, t]`` is the 0-based chunk of stage s that byte t belongs to (the chunk started
  by the last stage-s boundary at or before t).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Hidden-state levels one can ask for (see `hidden_levels`):
#   "stage{s}"  the encoder output stage s's router looked at; one row per position that stage sees
#   "inner"     the innermost network's output, one row per chunk of the last stage (per byte if flat)
#   "decoder"   the byte-level decoder output (what the LM head reads), one row per byte
INNER = "inner"
DECODER = "decoder"


def hidden_levels(num_stages: int) -> list[str]:
    """All level names of a model with ``num_stages`` routing stages, outermost first."""
    return [f"stage{s}" for s in range(num_stages)] + [INNER, DECODER]


@dataclass
class Analysis:
    """One sequence of ``length`` bytes seen by a model with S routing stages (S = 0: isotropic).

    Arrays (numpy, CPU):
      boundary_prob   (S, L) float32  router probability p_t; NaN where stage s does not see byte t
      boundary        (S, L) bool     p_t > 0.5 at a position the stage sees (byte 0 always True)
      chunk_index     (S, L) int64    chunk of stage s containing byte t
      hidden[level]   (N, D) float32  rows of a requested level, in sequence order
      hidden_positions[level] (N,) int64  byte at which each row sits (its chunk's first byte)
    """

    length: int
    boundary_prob: np.ndarray
    boundary: np.ndarray
    chunk_index: np.ndarray
    target_ratios: list[float]
    window: int
    stride: int
    hidden: dict[str, np.ndarray] = field(default_factory=dict)
    hidden_positions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_stages(self) -> int:
        return int(self.boundary.shape[0])

    @property
    def context(self) -> int:
        """Least left context (bytes) of any byte past the first window; see windows.py."""
        return self.window - self.stride

    def chunk_count(self, stage: int) -> int:
        return int(self.boundary[stage].sum())

    def chunk_bounds(self, stage: int) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of the chunks of ``stage``, 0-based half-open byte coordinates."""
        starts = np.flatnonzero(self.boundary[stage]).astype(np.int64)
        ends = np.append(starts[1:], self.length).astype(np.int64)
        return starts, ends

    def chunk_probs(self, stage: int) -> np.ndarray:
        """Boundary probability at the first byte of each chunk of ``stage`` (float32)."""
        return self.boundary_prob[stage][self.boundary[stage]]

    def bytes_per_chunk(self, stage: int) -> float:
        """Bytes per chunk of ``stage`` (stage 0: the compression the ratio loss aims at)."""
        return self.length / max(1, self.chunk_count(stage))
