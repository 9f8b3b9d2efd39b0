"""Classical anchors for a held-out bits/byte: smoothed order-k Markov models and xz / zstd.

A neural model's held-out bits/byte means little alone: for DNA, order-k Markov models are the old
and strong baseline (~1.9 bits/base on bacteria), and a general-purpose compressor says what any
user could get for free. Both are measured here on *exactly* the bytes the neural evaluation
predicts: the bytes ``w[1:]`` of each held-out window ``w``, with context limited to the window
(the same rule as `pipelines.training.evaluation.evaluate_bpb`).

Markov model: interpolated Witten-Bell smoothing over orders 0..k on top of a uniform distribution
over the 256 byte values, so every byte gets a non-zero probability and the numbers are true
code lengths::

    P_k(x | c) = (n(c, x) + T(c) * P_{k-1}(x | c')) / (n(c) + T(c))   if n(c) > 0, else P_{k-1}

with ``n`` the counts on the training bytes, ``T(c)`` the number of distinct bytes seen after
``c`` and ``c'`` the context shortened by its oldest byte. Counting is numpy only: every training
position gets one 64-bit key ``(context << 8) | next byte``; the sorted keys answer n(c), n(c, x)
(searchsorted) and T(c) (the same on the unique keys). A context is stored exactly while it fits
in 56 bits (alphabet size ** k <= 2 ** 56, e.g. k <= 14 for DNA with <= 16 symbols); beyond that it
is a 56-bit multiplicative hash, where a collision (probability ~ n^2 / 2^57, < 1% for 35 M
positions) would merge two contexts' counts.

The "best order" is chosen on the held-out bytes themselves, so the Markov anchor is slightly
optimistic; the report says so.
"""

from __future__ import annotations

import lzma
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zstandard

MAX_ORDER = 12
_KEY_BITS = 56  # context bits; the low 8 bits of a key hold the next byte
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class MarkovResult:
    """Held-out bits/byte of every order 0..max_order and the best one."""

    bpb_by_order: list[float]
    train_bytes: int  # training bytes counted (positions whose next byte was counted at order 0)
    eval_bytes: int
    best_order: int = field(init=False)
    best_bpb: float = field(init=False)

    def __post_init__(self) -> None:
        self.best_order = int(np.argmin(self.bpb_by_order))
        self.best_bpb = float(self.bpb_by_order[self.best_order])

    def to_json(self) -> dict[str, object]:
        return {"best_order": self.best_order, "best_bpb": self.best_bpb, "bpb_by_order": self.bpb_by_order,
                "train_bytes": self.train_bytes, "eval_bytes": self.eval_bytes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarkovResult:
        """The inverse of `to_json` (best order and bits/byte are derived again, as they were)."""
        return cls(list(data["bpb_by_order"]), data["train_bytes"], data["eval_bytes"])


@dataclass(frozen=True)
class CompressorScores:
    """Bits/byte of xz and zstd on ``data_bytes`` predicted bytes (container headers included)."""

    xz: float
    zstd: float
    data_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"xz": self.xz, "zstd": self.zstd, "bytes": self.data_bytes}


class _Coder:
    """Dense symbol ids and the rolling context accumulator, order by order.

    ``acc_k(t) = acc_{k-1}(t) * M + sym[t - k]`` (newest byte most significant) with ``M`` the
    symbol base while contexts fit in 56 bits (then ``acc_k`` is the exact context) and an odd
    64-bit multiplier after (a hash; odd, so no information is lost before the final mixing).
    One pass per order, instead of ``k`` passes for order ``k``.
    """

    def __init__(self, alphabet: np.ndarray):
        self.lookup = np.zeros(256, dtype=np.uint64)
        self.lookup[alphabet] = np.arange(1, alphabet.size + 1, dtype=np.uint64)  # 0: "no symbol"
        self.base = alphabet.size + 1

    def exact(self, order: int) -> bool:
        return order * math.log2(self.base) <= _KEY_BITS

    def extend(self, acc: np.ndarray, sym: np.ndarray, order: int) -> np.ndarray:
        """acc_{order} over positions ``order..n-1`` from acc_{order-1} over ``order-1..n-1``."""
        mul = np.uint64(self.base) if self.exact(order) else _HASH_MUL
        with np.errstate(over="ignore"):
            return acc[1:] * mul + sym[: sym.size - order]

    def key(self, acc: np.ndarray, order: int) -> np.ndarray:
        """56-bit context keys: the accumulator itself, or its mixed top bits once hashed."""
        if self.exact(order):
            return acc
        with np.errstate(over="ignore"):
            return (acc * _HASH_MUL) >> np.uint64(64 - _KEY_BITS)


class _Rolling:
    """Per-array context accumulators, advanced one order at a time (for training units or windows)."""

    def __init__(self, coder: _Coder, arrays: Sequence[np.ndarray]):
        self.coder = coder
        self.arrays = arrays
        self.sym = [coder.lookup[a] for a in arrays]
        self.acc = [np.zeros(a.size, dtype=np.uint64) for a in arrays]  # order 0: positions 0..n-1
        self.order = 0

    def advance(self) -> None:
        self.order += 1
        self.acc = [self.coder.extend(acc, sym, self.order) if acc.size > 1 else acc[:0]
                    for acc, sym in zip(self.acc, self.sym)]


def _pair_keys(rolling: _Rolling) -> np.ndarray:
    """Sorted ``(context << 8) | next`` keys over all positions ``t >= order`` of every unit."""
    k = rolling.order
    parts = [(rolling.coder.key(acc, k) << np.uint64(8)) | u[k:].astype(np.uint64)
             for acc, u in zip(rolling.acc, rolling.arrays) if acc.size]
    keys = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    keys.sort()
    return keys


def _eval_keys(rolling: _Rolling) -> tuple[np.ndarray, np.ndarray]:
    """For each predicted byte (position t >= 1 of each window): its context key at the current
    order and whether that context lies inside the window (t >= order); both (total predicted,)."""
    k = rolling.order
    ctx_parts, ok_parts = [], []
    for acc, w in zip(rolling.acc, rolling.arrays):
        n = w.size - 1
        ctx = np.zeros(n, dtype=np.uint64)
        ok = np.zeros(n, dtype=bool)
        if acc.size:  # acc covers positions t = k..n; predicted position t sits at index t - 1
            first = max(k, 1)
            ctx[first - 1:] = rolling.coder.key(acc, k)[first - k:]
            ok[first - 1:] = True
        ctx_parts.append(ctx)
        ok_parts.append(ok)
    return np.concatenate(ctx_parts), np.concatenate(ok_parts)


def markov_bpb(train_units: Sequence[np.ndarray], eval_windows: Sequence[np.ndarray],
               max_order: int = MAX_ORDER) -> MarkovResult:
    """Held-out bits/byte of interpolated Witten-Bell Markov models of every order 0..``max_order``.

    train_units: uint8 arrays (records, files or training windows); contexts never span two units.
    eval_windows: uint8 arrays ``w``; the bytes ``w[1:]`` are predicted from context inside ``w``.
    """
    return markov_bpb_sets(train_units, [eval_windows], max_order)[0]


def markov_bpb_sets(train_units: Sequence[np.ndarray], eval_sets: Sequence[Sequence[np.ndarray]],
                    max_order: int = MAX_ORDER) -> list[MarkovResult]:
    """`markov_bpb` for several held-out sets at once: the training counts (the costly part, one
    sort per order) are made once and queried for every set."""
    train_units = [np.asarray(u, dtype=np.uint8) for u in train_units]
    sets = [[np.asarray(w, dtype=np.uint8) for w in ws if len(w) > 1] for ws in eval_sets]
    targets = [np.concatenate([w[1:] for w in ws]) if ws else np.zeros(0, np.uint8) for ws in sets]
    if any(t.size == 0 for t in targets):
        raise ValueError("no held-out bytes to evaluate the Markov anchor on")
    seen = np.zeros(256, dtype=bool)
    for a in (*train_units, *(w for ws in sets for w in ws)):
        seen[a] = True
    coder = _Coder(np.flatnonzero(seen).astype(np.uint8))
    train = _Rolling(coder, train_units)
    held = [_Rolling(coder, ws) for ws in sets]
    probs = [np.full(t.size, 1.0 / 256.0) for t in targets]  # order -1: uniform over byte values
    bpb: list[list[float]] = [[] for _ in sets]
    for order in range(max_order + 1):
        if order:
            train.advance()
            for h in held:
                h.advance()
        keys = _pair_keys(train)
        uniq = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys  # sorted
        for i, h in enumerate(held):
            ctx, ok = _eval_keys(h)
            lo_key, hi_key = ctx << np.uint64(8), (ctx << np.uint64(8)) | np.uint64(255)
            n_c = np.searchsorted(keys, hi_key, side="right") - np.searchsorted(keys, lo_key, side="left")
            pair = lo_key | targets[i].astype(np.uint64)
            n_cx = np.searchsorted(keys, pair, side="right") - np.searchsorted(keys, pair, side="left")
            t_c = np.searchsorted(uniq, hi_key, side="right") - np.searchsorted(uniq, lo_key, side="left")
            use = ok & (n_c > 0)
            probs[i] = np.where(use, (n_cx + t_c * probs[i]) / np.maximum(n_c + t_c, 1), probs[i])
            bpb[i].append(float(-np.log2(probs[i]).sum() / targets[i].size))
    train_positions = sum(u.size for u in train_units)
    return [MarkovResult(b, train_positions, int(t.size)) for b, t in zip(bpb, targets)]


def compressed_bpb(eval_windows: Sequence[np.ndarray]) -> CompressorScores:
    """Bits/byte of xz (preset 9e) and zstd (level 19) on the predicted bytes of all windows, in order.

    The compressors see the windows concatenated (so context across windows, which the neural
    models do not get) and no training data at all; their container headers (~60 bytes for xz)
    are counted, as a user's file would pay them.
    """
    data = b"".join(np.asarray(w, dtype=np.uint8)[1:].tobytes() for w in eval_windows)
    if not data:
        raise ValueError("no held-out bytes to compress")
    xz = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    zst = zstandard.ZstdCompressor(level=19).compress(data)
    return CompressorScores(xz=8.0 * len(xz) / len(data), zstd=8.0 * len(zst) / len(data),
                            data_bytes=len(data))
