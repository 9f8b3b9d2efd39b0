"""Warmup-stable-decay schedule: properties of the curve, not a table of magic numbers."""

from __future__ import annotations

import itertools
import math

import pytest

from pipelines.training.schedule import WSDSchedule, wsd_factor


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
def test_phases_and_endpoints(shape: str) -> None:
    s = WSDSchedule(total_steps=100, warmup_steps=10, decay_steps=20, min_lr_ratio=0.1, decay_shape=shape)
    f = [s(i) for i in range(100)]
    assert f[0] == pytest.approx(0.1)  # the first step already moves the weights
    assert all(a < b for a, b in itertools.pairwise(f[:10]))  # warmup strictly increases
    assert f[9] == 1.0 and all(x == 1.0 for x in f[10:80])  # stable phase is exactly the peak
    assert all(a >= b for a, b in itertools.pairwise(f[80:]))  # decay never increases
    assert f[99] == pytest.approx(0.1)  # reaches the floor exactly on the last step
    assert all(0.1 - 1e-12 <= x <= 1.0 for x in f)
    assert s(1000) == pytest.approx(0.1)  # past the end: stays at the floor


def test_pure_function_of_step() -> None:
    a = WSDSchedule.from_fractions(57, 0.1, 0.2, 0.05)
    b = WSDSchedule.from_fractions(57, 0.1, 0.2, 0.05)
    assert [a(i) for i in range(57)] == [b(i) for i in range(57)]
    assert [a(i) for i in (40, 3, 56, 3)] == [a(40), a(3), a(56), a(3)]  # order of calls is irrelevant


def test_from_fractions_never_overlaps() -> None:
    s = WSDSchedule.from_fractions(3, 0.9, 0.9)
    assert s.warmup_steps + s.decay_steps <= 3
    s = WSDSchedule.from_fractions(1, 0.05, 0.2)
    assert math.isfinite(s(0)) and 0 < s(0) <= 1
    assert WSDSchedule.from_fractions(100, 0.5, 0.2, warmup_steps=7).warmup_steps == 7


def test_no_warmup_no_decay_is_constant() -> None:
    assert {wsd_factor(i, 10, 0, 0) for i in range(10)} == {1.0}


def test_invalid() -> None:
    with pytest.raises(ValueError):
        WSDSchedule(10, 6, 6)
    with pytest.raises(ValueError):
        wsd_factor(9, 10, 0, 5, decay_shape="exp")
