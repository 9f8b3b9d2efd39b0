"""Bootstrap intervals on held-out bits/byte: against the normal-theory interval of a mean, on
degenerate data, and paired against unpaired; and `evaluate_bpb`'s per-window scores against each
window scored on its own."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hnet_bio import build_model
from hnet_bio.config import HNetConfig
from pipelines.evaluation.intervals import bootstrap_mean, paired_difference
from pipelines.training.distributed import DistEnv
from pipelines.training.evaluation import evaluate_bpb
from tests.paths import ROOT


def test_bootstrap_matches_the_normal_interval_of_a_mean() -> None:
    """For 2000 draws of N(2, 0.3), the 95% interval is the mean +- 1.96 sd / sqrt(n) to within 10%."""
    x = np.random.default_rng(1).normal(2.0, 0.3, size=2000)
    iv = bootstrap_mean(x)
    half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)
    assert iv.value == pytest.approx(float(x.mean()), abs=1e-12)
    assert (iv.high - iv.low) / 2 == pytest.approx(half, rel=0.1)
    assert iv.low < iv.value < iv.high and iv.n == 2000
    assert bootstrap_mean(x) == iv  # deterministic


def test_constant_values_give_a_zero_width_interval_and_bad_input_is_refused() -> None:
    iv = bootstrap_mean([1.5] * 10)
    assert (iv.value, iv.low, iv.high) == (1.5, 1.5, 1.5) and iv.excludes_zero
    assert not bootstrap_mean([0.0] * 10).excludes_zero
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_mean([])
    with pytest.raises(ValueError, match="level"):
        bootstrap_mean([1.0, 2.0], level=1.0)
    with pytest.raises(ValueError, match="same windows"):
        paired_difference([1.0, 2.0], [1.0])


def test_paired_difference_cancels_what_the_windows_share() -> None:
    """Two arms on the same windows: window difficulty varies a lot, the arms differ by a small
    constant plus noise. The paired interval is far narrower than the unpaired one and excludes 0."""
    rng = np.random.default_rng(2)
    hard = rng.normal(2.0, 0.2, size=512)  # per-window difficulty, shared by both arms
    a = hard + rng.normal(0, 0.005, size=512)
    b = hard + 0.01 + rng.normal(0, 0.005, size=512)
    gap = paired_difference(a, b)
    assert gap.value == pytest.approx(float(b.mean() - a.mean()), abs=1e-12)
    assert gap.excludes_zero and gap.low > 0
    separate = [bootstrap_mean(v) for v in (a, b)]
    assert gap.high - gap.low < 0.1 * (separate[0].high - separate[0].low)
    assert separate[0].high > separate[1].low  # unpaired, the two intervals overlap


def test_per_window_scores_match_each_window_scored_alone() -> None:
    """evaluate_bpb(per_window=True): each window's bits/byte equals the model's cross-entropy on
    that window alone (one forward per window, float64 log-softmax); their mean is the total."""
    torch.manual_seed(0)
    cfg = HNetConfig.from_json(ROOT / "configs" / "tiny-1stage.json")
    model = build_model(cfg).eval()
    g = torch.Generator().manual_seed(3)
    windows = [torch.randint(0, 4, (65,), generator=g).to(torch.uint8) + 65 for _ in range(6)]
    score = evaluate_bpb(model, windows, DistEnv(device=torch.device("cpu")), batch_size=4, per_window=True)
    assert len(score.window_bpb) == 6
    with torch.no_grad():
        for w, got in zip(windows, score.window_bpb):
            x, y = w[:-1].long().unsqueeze(0), w[1:].long().unsqueeze(0)
            logp = torch.log_softmax(model(x).logits.double(), dim=-1)[0, torch.arange(64), y[0]]
            assert got == pytest.approx(float(-logp.mean()) / math.log(2), abs=1e-6)
    assert sum(score.window_bpb) / 6 == pytest.approx(score.bits_per_byte, abs=1e-6)  # float32 loss
    plain = evaluate_bpb(model, windows, DistEnv(device=torch.device("cpu")), batch_size=4)
    assert plain.window_bpb == () and plain.bits_per_byte == pytest.approx(score.bits_per_byte, abs=1e-12)
