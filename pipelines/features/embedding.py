"""Fixed-size vectors from an `Analysis`: one level of hidden states, pooled over a span of bytes.

Levels (pipelines/analysis/result.py): "stage{s}" (the encoder output stage s routes on), "inner"
(the innermost network, one row per chunk of the last stage; the whole backbone output for an
isotropic model) and "decoder" (byte-level output before the LM head).

Poolings, over the rows of the level that sit in the span (a chunk row sits at its first byte):
- "mean":   mean of the rows (bytes for byte-level levels, chunks for chunk-level ones);
- "chunks": mean over stage-0 chunks of the mean within each chunk, so every chunk weighs the
            same whatever its length (equal to "mean" for chunk-level levels; needs an H-Net);
- "grid":   like "chunks" but over a fixed grid with as many chunks as stage 0 made in the span
            (the control that tells whether the learned cut points matter);
- "max":    elementwise maximum;
- "last":   the last row (what a causal model has read the whole span with).
Only rows of the span are read, and an `Analysis` holds no padding, so a vector never depends on
what else was in the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Unpack

import numpy as np

from hnet_bio.lm import HNetLM, IsotropicLM
from pipelines.analysis import Analysis, analyze_many
from pipelines.analysis.run import AnalysisOptions, ByteSequence

POOLINGS = ("mean", "chunks", "grid", "max", "last")
DEFAULT_LEVEL = "inner"
DEFAULT_POOLING = "mean"


def pool(a: Analysis, level: str, pooling: str, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """(D,) float32 vector of ``level`` pooled over bytes ``[lo, hi)`` of the analysed sequence."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    hi = a.length if hi is None else hi
    rows, pos = a.hidden[level], a.hidden_positions[level]
    keep = (pos >= lo) & (pos < hi)
    if not keep.any():
        keep = pos < hi  # a span inside one chunk: the chunk covering it (the last one started before hi)
        keep[: max(0, int(keep.sum()) - 1)] = False
    x = rows[keep]  # (N, D)
    if x.shape[0] == 0:
        raise ValueError(f"no {level} rows cover bytes [{lo}, {hi})")
    if pooling == "max":
        return x.max(axis=0)
    if pooling == "last":
        return x[-1].copy()
    if pooling in ("chunks", "grid"):
        if a.num_stages == 0:
            raise ValueError(f"{pooling!r} pooling needs an H-Net (an isotropic model has no chunks)")
        chunk = a.chunk_index[0][pos[keep]]  # (N,) stage-0 chunk of each row
        if pooling == "grid":  # same number of chunks, evenly spaced over the rows
            m = len(np.unique(chunk))
            chunk = (np.arange(chunk.size) * m) // chunk.size
        _, group = np.unique(chunk, return_inverse=True)
        sums = np.zeros((group.max() + 1, x.shape[1]), dtype=np.float64)
        np.add.at(sums, group, x)
        return (sums / np.bincount(group)[:, None]).mean(axis=0).astype(np.float32)
    return x.mean(axis=0, dtype=np.float64).astype(np.float32)


def level_width(model: HNetLM | IsotropicLM, level: str) -> int:
    """Width D of a level's rows: d_model of its level (inner: the innermost; decoder: bytes)."""
    widths = model.config.d_model
    if level.startswith("stage"):
        return int(widths[int(level[5:])])
    return int(widths[-1] if level == "inner" else widths[0])


def tiles(length: int, size: int | None) -> list[tuple[int, int]]:
    """``[lo, hi)`` spans: the whole sequence (size None) or consecutive tiles of ``size`` bytes."""
    if size is None:
        return [(0, length)]
    if size < 1:
        raise ValueError(f"window size must be >= 1, got {size}")
    return [(lo, min(lo + size, length)) for lo in range(0, length, size)]


def embed_sequences(
    model: HNetLM | IsotropicLM,
    sequences: Sequence[ByteSequence],
    level: str = DEFAULT_LEVEL,
    pooling: str = DEFAULT_POOLING,
    per_window: int | None = None,
    **analysis_kwargs: Unpack[AnalysisOptions],
) -> Iterator[tuple[int, int, int, np.ndarray]]:
    """(sequence index, lo, hi, vector (D,)) per sequence, or per tile with ``per_window``."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    options: AnalysisOptions = {**analysis_kwargs, "hidden": [level]}
    for i, a in enumerate(analyze_many(model, sequences, **options)):
        for lo, hi in tiles(a.length, per_window):
            yield i, lo, hi, pool(a, level, pooling, lo, hi)


def stack(vectors: Iterable[np.ndarray]) -> np.ndarray:
    """(N, D) float32 from an iterable of (D,) vectors."""
    return np.stack(list(vectors)).astype(np.float32, copy=False)
