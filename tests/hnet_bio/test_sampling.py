"""Sampling: greedy, seeds, top-k, top-p, stop bytes, allowed bytes, batched == one by one."""

from __future__ import annotations

import math

import pytest
import torch

from hnet_bio import HNetConfig, HNetLM, SamplingConfig, generate, stream
from hnet_bio.generation import filter_logits, sample
from tests.paths import CONFIGS


@pytest.fixture(scope="module")
def model() -> HNetLM:
    torch.manual_seed(0)
    return HNetLM(HNetConfig.from_json(CONFIGS / "tiny-2stage.json")).double().eval()


def test_greedy_is_argmax() -> None:
    logits = torch.randn(5, 256)
    assert torch.equal(sample(logits, SamplingConfig(greedy=True)), logits.argmax(-1))
    assert torch.equal(sample(logits, SamplingConfig(temperature=0.0)), logits.argmax(-1))


def test_top_k_restricts_support() -> None:
    logits = torch.randn(3, 256)
    kept = torch.isfinite(filter_logits(logits, SamplingConfig(top_k=3)))
    assert kept.sum(-1).tolist() == [3, 3, 3]
    top3 = logits.topk(3).indices.sort(-1).values
    assert torch.equal(kept.nonzero()[:, 1].view(3, 3).sort(-1).values, top3)
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([sample(logits, SamplingConfig(top_k=3), g) for _ in range(50)])  # (50, 3)
    assert all(kept[r, draws[:, r]].all() for r in range(3))


@pytest.mark.parametrize(
    ("p", "expected"), [(0.4, {0}), (0.75, {0, 1}), (0.85, {0, 1, 2}), (1.0, {0, 1, 2, 3})]
)
def test_top_p_keeps_smallest_set_reaching_p(p: float, expected: set[int]) -> None:
    probs = [0.5, 0.3, 0.15, 0.05]
    logits = torch.full((1, 256), -math.inf)
    order = [7, 3, 200, 65]  # not sorted by index, to exercise the un-sorting
    for i, pr in zip(order, probs):
        logits[0, i] = math.log(pr)
    kept = torch.isfinite(filter_logits(logits, SamplingConfig(top_p=p)))[0].nonzero().flatten().tolist()
    assert set(kept) == {order[i] for i in expected}


def test_seed_reproducible(model: HNetLM) -> None:
    cfg = SamplingConfig(seed=11, max_new_bytes=12, top_k=50)
    a = generate(model, [b"ACGTACGT", b"TTGA"], cfg)
    b = generate(model, [b"ACGTACGT", b"TTGA"], cfg)
    c = generate(model, [b"ACGTACGT", b"TTGA"], SamplingConfig(seed=12, max_new_bytes=12, top_k=50))
    assert a == b and a != c
    assert [len(x) for x in a] == [12, 12]


def test_allowed_and_stop_bytes(model: HNetLM) -> None:
    cfg = SamplingConfig(seed=0, max_new_bytes=80, allowed_bytes=b"ACGT", stop_bytes=b"T")
    outs = generate(model, [b"ACGTTGCA"] * 3, cfg)
    for out in outs:
        assert set(out) <= set(b"ACG") and len(out) < 80  # T stops (and is not emitted)


def test_batched_greedy_equals_one_by_one(model: HNetLM) -> None:
    prompts = [b"ACGTACGTAAGT", b"GATTACA", b"C", b"TTTTGGGGCCCCAAAATT"]
    cfg = SamplingConfig(greedy=True, max_new_bytes=20)
    batched = generate(model, prompts, cfg)
    assert batched == [generate(model, [p], cfg)[0] for p in prompts]


def test_stream_yields_what_generate_returns(model: HNetLM) -> None:
    cfg = SamplingConfig(seed=5, max_new_bytes=9, stop_bytes=b"A", allowed_bytes=b"ACGT")
    steps = list(stream(model, [b"GGC", b"TTAG"], cfg))
    joined = [b"".join(s.new[r] for s in steps) for r in range(2)]
    assert joined == generate(model, [b"GGC", b"TTAG"], cfg)
    assert steps[-1].done == [True, True]


def test_invalid_configs() -> None:
    with pytest.raises(ValueError):
        SamplingConfig(top_p=0.0)
    with pytest.raises(ValueError):
        SamplingConfig(temperature=-1)
    with pytest.raises(ValueError):
        SamplingConfig(allowed_bytes=b"")
