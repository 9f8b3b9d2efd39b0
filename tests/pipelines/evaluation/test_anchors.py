"""Classical anchors against independent truth: a dictionary-count Witten-Bell model in plain
Python, and the compressors called directly."""

from __future__ import annotations

import lzma
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
import zstandard

from pipelines.evaluation.anchors import MarkovResult, compressed_bpb, markov_bpb


def _brute_force_bpb(train: list[bytes], windows: list[bytes], order: int) -> float:
    """Interpolated Witten-Bell by explicit counting over every context length 0..order."""
    n: list[Counter] = [Counter() for _ in range(order + 1)]
    nx: list[Counter] = [Counter() for _ in range(order + 1)]
    followers: list[defaultdict] = [defaultdict(set) for _ in range(order + 1)]
    for u in train:
        for t in range(len(u)):
            for k in range(min(order, t) + 1):
                c = u[t - k:t]
                n[k][c] += 1
                nx[k][(c, u[t])] += 1
                followers[k][c].add(u[t])
    bits, count = 0.0, 0
    for w in windows:
        for t in range(1, len(w)):
            p = 1.0 / 256
            for k in range(min(order, t) + 1):
                c = w[t - k:t]
                if n[k][c]:
                    T = len(followers[k][c])
                    p = (nx[k][(c, w[t])] + T * p) / (n[k][c] + T)
            bits -= math.log2(p)
            count += 1
    return bits / count


@pytest.mark.parametrize("alphabet", [b"ACGT", bytes(range(0, 256, 3))])
def test_markov_matches_brute_force_counts(alphabet: bytes) -> None:
    rng = np.random.default_rng(0)
    # A repetitive source so high orders matter, plus a second training unit (no context across it).
    motif = rng.choice(list(alphabet), size=13).astype(np.uint8)
    noise = rng.choice(list(alphabet), size=400).astype(np.uint8)
    unit1 = np.where(rng.random(400) < 0.8, np.resize(motif, 400), noise).astype(np.uint8)
    unit2 = rng.choice(list(alphabet), size=57).astype(np.uint8)
    windows = [np.where(rng.random(40) < 0.7, np.resize(motif, 40), noise[:40]).astype(np.uint8),
               rng.choice(list(alphabet), size=9).astype(np.uint8), np.array([7, 1, 2], dtype=np.uint8)]
    res = markov_bpb([unit1, unit2], windows, max_order=9)
    train_b = [unit1.tobytes(), unit2.tobytes()]
    win_b = [w.tobytes() for w in windows]
    for k in range(10):
        assert res.bpb_by_order[k] == pytest.approx(_brute_force_bpb(train_b, win_b, k), rel=1e-12)
    assert res.eval_bytes == sum(len(w) - 1 for w in windows)
    assert res.train_bytes == 457
    assert res.best_bpb == min(res.bpb_by_order)
    assert res.best_order > 0  # the motif makes context worth having


def test_markov_hashed_contexts_match_exact_counts() -> None:
    """Orders past the exact 56-bit range (byte alphabet: k >= 7) hash contexts; on a short string
    the hash cannot collide, so the numbers equal the brute-force ones."""
    rng = np.random.default_rng(1)
    motif = rng.integers(0, 256, size=29).astype(np.uint8)
    train = np.resize(motif, 300)
    train[::17] = rng.integers(0, 256, size=train[::17].size)
    window = np.resize(motif, 60).astype(np.uint8)
    res = markov_bpb([train], [window], max_order=9)
    for k in (6, 7, 9):
        assert res.bpb_by_order[k] == pytest.approx(
            _brute_force_bpb([train.tobytes()], [window.tobytes()], k), rel=1e-12)


def test_markov_without_training_data_is_the_uniform_code() -> None:
    """Order 0 with no training data is the uniform code: exactly 8 bits per byte."""
    res = markov_bpb([np.zeros(0, dtype=np.uint8)], [np.arange(100, dtype=np.uint8)], max_order=2)
    assert res.bpb_by_order == pytest.approx([8.0, 8.0, 8.0])


def test_compressor_sizes_match_direct_calls() -> None:
    rng = np.random.default_rng(2)
    windows = [rng.choice(np.frombuffer(b"ACGT", np.uint8), size=500) for _ in range(3)]
    data = b"".join(w[1:].tobytes() for w in windows)
    got = compressed_bpb(windows)
    assert got.data_bytes == len(data) == 1497
    assert got.xz == 8 * len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)) / len(data)
    assert got.zstd == 8 * len(zstandard.ZstdCompressor(level=19).compress(data)) / len(data)
    assert got.to_json() == {"xz": got.xz, "zstd": got.zstd, "bytes": 1497}  # anchors.json, results.json
    # Uniform random ACGT has 2 bits of entropy per base: no compressor gets below it, and both
    # must exploit the 4-letter alphabet (well under 8 bits, headers included).
    assert 1.95 < got.xz < 4 and 1.95 < got.zstd < 4


def test_markov_result_json_round_trip() -> None:
    """anchors.json keeps MarkovResults as JSON: reading one back gives the same result."""
    rng = np.random.default_rng(5)
    res = markov_bpb([rng.integers(0, 4, 300).astype(np.uint8)], [rng.integers(0, 4, 50).astype(np.uint8)], 3)
    assert list(res.to_json()) == ["best_order", "best_bpb", "bpb_by_order", "train_bytes", "eval_bytes"]
    assert MarkovResult.from_json(res.to_json()) == res
