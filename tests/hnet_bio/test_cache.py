"""Inference caches: ring-buffer KV with per-row positions, row selection and write-back."""

from __future__ import annotations

import torch

from hnet_bio.cache import put_rows, select_rows
from hnet_bio.layers.attention import KVCache
from hnet_bio.layers.mamba2 import MambaState


def empty_kv(batch: int, slots: int, window: int) -> KVCache:
    z = torch.zeros(batch, slots, 1, 2)
    empty, length = torch.full((batch, slots), -1), torch.zeros(batch, dtype=torch.long)
    return KVCache(z.clone(), z.clone(), empty, length, window)


def test_ring_buffer_keeps_the_last_window_plus_one_keys() -> None:
    kv = empty_kv(2, 4, window=3)
    for t in range(10):
        pos = torch.tensor([t, t // 2])  # rows advance at different rates
        kv.length = pos
        kv.write(torch.full((2, 1, 2), float(t)), torch.zeros(2, 1, 2))
        assert kv.length.tolist() == [t + 1, t // 2 + 1]
        vis = kv.visible(pos)
        for b in range(2):
            p = int(pos[b])
            expected = set(range(max(0, p - 3), p + 1))
            assert set(kv.pos[b][vis[b]].tolist()) == expected


def test_global_cache_grows_and_never_forgets() -> None:
    kv = empty_kv(1, 2, window=-1)
    for t in range(9):
        kv.write(torch.full((1, 1, 2), float(t)), torch.zeros(1, 1, 2))
    assert kv.capacity >= 9
    assert kv.visible(torch.tensor([8])).sum() == 9
    assert kv.k[0, :9, 0, 0].tolist() == [float(t) for t in range(9)]


def test_select_then_put_rows_round_trips_and_grows() -> None:
    kv = empty_kv(3, 2, window=-1)
    mamba = MambaState(torch.arange(3.0).view(3, 1, 1), torch.zeros(3, 1, 1, 1))
    state = [kv, mamba]
    rows = torch.tensor([2, 0])
    sub = select_rows(state, rows)
    assert sub[1].conv.flatten().tolist() == [2.0, 0.0]
    for _ in range(5):  # the sub-state outgrows the parent's capacity
        sub[0].write(torch.ones(2, 1, 2), torch.ones(2, 1, 2))
    sub[1].conv = sub[1].conv + 10
    put_rows(state, rows, sub)
    assert mamba.conv.flatten().tolist() == [10.0, 1.0, 12.0]
    assert kv.capacity >= 5
    assert kv.pos[1].max() == -1 and kv.pos[0, :5].tolist() == list(range(5))
    assert kv.length.tolist() == [5, 0, 5]
