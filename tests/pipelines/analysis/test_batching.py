"""Windows grouped into forwards: a fixed count when asked, else about BATCH_BYTES padded bytes."""

from __future__ import annotations

from pipelines.analysis.run import BATCH_BYTES, batches_of
from pipelines.analysis.windows import Window, plan_windows


def test_default_groups_fill_the_byte_budget_in_order() -> None:
    long = plan_windows(40_000, 4096, 3072)  # equal 4 kB windows
    groups = batches_of(long, None)
    assert [w for g in groups for w in g] == long  # every window once, in order
    assert all(len(g) == BATCH_BYTES // 4096 for g in groups[:-1])
    short = [Window(i, 0, 500, 0) for i in range(40)]  # 40 records of 500 bytes
    assert [len(g) for g in batches_of(short, None)] == [16, 16, 8]  # 16 x 500 = 8,000 <= 8,192


def test_padding_counts_the_longest_window_and_oversized_windows_go_alone() -> None:
    mixed = [Window(0, 0, 1000, 0), Window(1, 0, 3000, 0), Window(2, 0, 3000, 0), Window(3, 0, 20_000, 0),
             Window(4, 0, 100, 0)]
    groups = batches_of(mixed, None)
    assert [[w.seq for w in g] for g in groups] == [[0, 1], [2], [3], [4]]  # 3 x 3000 > 8192
    for g in groups:
        assert len(g) == 1 or len(g) * max(w.end - w.start for w in g) <= BATCH_BYTES


def test_a_given_batch_size_is_kept() -> None:
    plan = plan_windows(40_000, 4096, 3072)
    assert [len(g) for g in batches_of(plan, 5)] == [5, 5, 3]
