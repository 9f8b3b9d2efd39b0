"""Thread choice follows the load average and the cores (checked against the OS's own numbers)."""

from __future__ import annotations

import pytest

from hnet_bio import threads


def test_choose_threads_leaves_busy_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads, "load_average", lambda: 2.7)
    assert threads.choose_threads() == 2
    assert threads.choose_threads(3) == 3  # an explicit request wins
    monkeypatch.setattr(threads, "load_average", lambda: 9.0)
    assert threads.choose_threads() == 1


def test_warning_only_when_oversubscribed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "load_average", lambda: 2.0)
    assert "oversubscribed" in threads.oversubscription_warning(2)
    monkeypatch.setattr(threads, "load_average", lambda: 0.2)
    assert threads.oversubscription_warning(2) is None


def test_real_machine_values_are_sane() -> None:
    assert threads.usable_cores() >= 1
    assert threads.load_average() >= 0.0
    assert threads.choose_threads() >= 1
