"""The data-efficiency multiplier on synthetic curves whose answer is known in closed form."""

from __future__ import annotations

import math

import pytest

from pipelines.comparison.efficiency import (
    Multiplier,
    Spread,
    bytes_to_reach,
    matched_multiplier,
    multiplier,
    multiplier_curve,
    spread,
    value_at,
)


def _line(a: float, slope: float, decades: list[float]) -> list[tuple[float, float]]:
    """bits/byte = a - slope * log10(bytes): linear in log bytes, so interpolation is exact."""
    return [(10**d, a - slope * d) for d in decades]


def test_crossing_is_exact_on_a_log_linear_curve() -> None:
    baseline = _line(4.0, 0.5, [3, 4, 5, 6])  # 2.5 at 1e3 ... 1.0 at 1e6
    # The H-Net reached 1.3 bits/byte after 1e4 bytes; the baseline gets there at 10**5.4.
    m = multiplier(1e4, 1.3, baseline)
    assert m.bound == "=" and m.value == pytest.approx(10**1.4, rel=1e-12)
    assert m.baseline_bytes == pytest.approx(10**5.4, rel=1e-12)
    assert m.text() == f"{10**1.4:.2f}x"


def test_crossing_uses_the_first_time_the_curve_gets_there() -> None:
    """A noisy curve that dips below, rises and dips again: the first crossing counts."""
    baseline = [(1e3, 3.0), (1e4, 1.0), (1e5, 2.0), (1e6, 0.5)]
    need, bound = bytes_to_reach(baseline, 2.0)
    assert bound == "=" and need == pytest.approx(10**3.5, rel=1e-12)


def test_never_reaches_is_a_lower_bound() -> None:
    baseline = _line(4.0, 0.5, [3, 4, 5])  # ends at 1.5
    m = multiplier(1e5, 1.2, baseline)
    assert m.bound == ">" and m.value == pytest.approx(1.0) and m.text() == "more than 1.00x"
    m = multiplier(1e4, 1.2, baseline)
    assert m.bound == ">" and m.value == pytest.approx(10.0)


def test_already_below_at_first_point_is_an_upper_bound() -> None:
    m = multiplier(1e5, 3.0, _line(4.0, 0.5, [3, 4, 5]))  # 2.5 at 1e3 is already below 3.0
    assert m.bound == "<" and m.value == pytest.approx(1e-2) and m.text() == "at most 0.01x"


def test_gap_at_equal_bytes_and_outside_the_curve() -> None:
    curve = _line(4.0, 0.5, [3, 5])
    assert value_at(curve, 1e4) == pytest.approx(2.0)
    assert value_at(curve, 1e5) == pytest.approx(1.5)
    assert value_at(curve, 1e6) is None and value_at(curve, 10) is None


def test_multiplier_curve_of_a_constant_factor() -> None:
    """A baseline that is the reference shifted right by a factor 3.6 in bytes has multiplier 3.6
    at every reference point inside its range."""
    ref = [(10 ** (d / 4), 5.0 - 0.8 * d / 4) for d in range(12, 21)]
    base = [(b * 3.6, v) for b, v in ref] + [(1e9, 0.0)]
    got = multiplier_curve(ref, base)
    assert [round(m.value, 9) for _, m in got] == [3.6] * len(ref)
    assert all(m.bound == "=" for _, m in got[1:])


def test_spread_over_seeds_keeps_bounds() -> None:
    ms = [Multiplier(v, "=", v, 1.0) for v in (2.0, 3.0, 5.0)]
    assert spread(ms) == Spread(median=3.0, min=2.0, max=5.0, n=3, bound="=")
    assert spread(ms).to_json() == {"median": 3.0, "min": 2.0, "max": 5.0, "n": 3, "bound": "="}
    assert list(spread(ms).to_json()) == ["median", "min", "max", "n", "bound"]  # results.json's order
    two = spread([Multiplier(2.0, ">", 2.0, 1.0), Multiplier(4.0, ">", 4.0, 1.0)])
    assert two.median == 3.0 and two.bound == ">"
    assert spread([Multiplier(2.0, ">", 2.0, 1.0), Multiplier(4.0, "=", 4.0, 1.0)]).bound == "mixed"
    assert math.isclose(spread(ms[:1]).median, 2.0)
    with pytest.raises(ValueError):
        spread([])


def test_matched_multiplier_reads_both_ways_and_ignores_what_comes_after() -> None:
    """Reference = baseline shifted left by 3.6x in bytes (the H-Net ahead) on a log-linear curve:
    read at S, S over the bytes the H-Net needed to reach the baseline's value at S is exactly 3.6.
    Swapping the roles gives 1/3.6 from the other branch. Points after S (a decay's drop) are cut."""
    decades = [d / 4 for d in range(8, 25)]  # 1e2 ... 1e6
    base = _line(5.0, 0.5, decades)
    ref = [(b / 3.6, v) for b, v in base]
    s = 10**5.0
    ref_at_s = (s, 5.0 - 0.5 * math.log10(s * 3.6))  # the reference's value at S on its own line
    ref = sorted([p for p in ref if p[0] < s] + [ref_at_s])
    after = [(1e7, 0.1)]  # a drop after S: must not count
    m = matched_multiplier(ref + after, base + after, s)
    assert m.bound == "=" and m.value == pytest.approx(3.6, rel=1e-9)
    assert m.baseline_bytes == s and m.reference_bytes == pytest.approx(s / 3.6, rel=1e-9)
    back = matched_multiplier(base, ref, s)  # the "reference" is now the slower curve
    assert back.bound == "=" and back.value == pytest.approx(1 / 3.6, rel=1e-9)
    with pytest.raises(ValueError, match="evaluation at"):
        matched_multiplier(ref, base, 2e5)


def test_matched_multiplier_bounds_when_the_crossing_is_off_the_curve() -> None:
    """The H-Net already below the baseline's final value at its first point: only a lower bound."""
    ref = [(1e3, 1.0), (1e4, 0.9)]
    base = [(1e3, 3.0), (1e4, 2.0)]
    m = matched_multiplier(ref, base, 1e4)
    assert m.bound == ">" and m.value == pytest.approx(10.0) and m.text() == "more than 10.00x"
