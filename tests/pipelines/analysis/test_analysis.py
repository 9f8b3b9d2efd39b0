"""The analysis path: windows tile the sequence by the most-left-context rule, and the windowed,
batched result equals one full forward wherever the model's memory fits in the context."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import torch

from hnet_bio import HNetConfig, HNetLM, build_model
from modalities.dna import read_fasta
from pipelines.analysis import ProgressBar, analyze, analyze_many, plan_windows
from pipelines.analysis.windows import Window
from tests.paths import CONFIGS, DATA


def short_memory(model: torch.nn.Module) -> torch.nn.Module:
    """Make every Mamba layer forget within a few bytes (decay exp(-20) per step).

    Attention at the byte level would still see everything, but tiny-1stage/2stage routers read
    only Mamba encoders (tiny-2stage's stage-1 encoder also has sliding-window attention, 15
    chunks), so a router's decision depends on a bounded stretch of bytes: a window that gives it
    that much left context must reproduce the full forward.
    """
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("dt_bias"):
                p.fill_(5.0)
            elif name.endswith("A_log"):
                p.fill_(float(np.log(4.0)))
    return model


def genome(n: int) -> bytes:
    return read_fasta(DATA / "ecoli_MG1655_20kb.fa")[0].seq[:n]


def full_forward(model: torch.nn.Module, seq: bytes) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per stage: probabilities and decisions mapped to bytes, straight from one model call."""
    with torch.inference_mode():
        out = model.eval()(torch.tensor([list(seq)]))
    pos = np.arange(len(seq))
    probs, bounds = [], []
    for st in out.stages:
        p = np.full(len(seq), np.nan, dtype=np.float32)
        b = np.zeros(len(seq), dtype=bool)
        p[pos] = st.boundary_prob[0].numpy()
        b[pos] = st.boundary_mask[0].numpy()
        probs.append(p)
        bounds.append(b)
        pos = pos[st.boundary_mask[0].numpy()]
    return probs, bounds


def test_plan_tiles_and_gives_context() -> None:
    for length, window, stride in [(1, 8, 8), (8, 8, 4), (9, 8, 4), (100, 16, 5), (1000, 64, 64)]:
        plan = plan_windows(length, window, stride)
        covered = np.concatenate([np.arange(w.report_from, w.end) for w in plan])
        assert np.array_equal(covered, np.arange(length))  # each byte exactly once, in order
        for w in plan:
            assert w.end - w.start == min(window, length)
            assert w.start == 0 or w.context >= window - stride
    # hand-computed: 10 bytes, window 4, stride 3 -> [0,4) reports 0-3; [3,7) reports 4-6; [6,10) 7-9
    assert plan_windows(10, 4, 3) == [Window(0, 0, 4, 0), Window(0, 3, 7, 4), Window(0, 6, 10, 7)]


def test_single_window_equals_forward_exactly() -> None:
    model = HNetLM(HNetConfig.from_json(CONFIGS / "tiny-2stage.json"))
    seq = genome(700)
    probs, bounds = full_forward(model, seq)
    a = analyze(model, seq, window=1024, stride=1024, hidden=["stage0", "stage1", "inner", "decoder"])
    assert a.boundary.shape == (2, 700)
    for s in range(2):
        np.testing.assert_array_equal(a.boundary[s], bounds[s])
        np.testing.assert_allclose(a.boundary_prob[s], probs[s], atol=1e-6, equal_nan=True)
        assert np.isnan(a.boundary_prob[s]).sum() == (0 if s == 0 else 700 - bounds[0].sum())
    assert a.boundary[1][~a.boundary[0]].sum() == 0  # nested: stage 1 cuts only where stage 0 did
    ci = a.chunk_index[0]
    assert ci[0] == 0 and ci[-1] == bounds[0].sum() - 1 and np.all(np.diff(ci) == a.boundary[0][1:])
    assert a.hidden["stage0"].shape == (700, 32)
    assert a.hidden["stage1"].shape == (bounds[0].sum(), 48)
    assert a.hidden["inner"].shape == (bounds[1].sum(), 64)
    np.testing.assert_array_equal(a.hidden_positions["inner"], np.flatnonzero(bounds[1]))
    assert a.hidden["decoder"].shape == (700, 32)


@pytest.mark.parametrize("config", ["tiny-1stage.json", "tiny-2stage.json"])
def test_windowed_equals_full_forward(config: str) -> None:
    torch.manual_seed(1)
    model = short_memory(HNetLM(HNetConfig.from_json(CONFIGS / config)))
    seq = genome(3000)
    probs, bounds = full_forward(model, seq)
    a = analyze(model, seq, window=512, stride=320, batch_size=3, hidden=["stage0", "decoder"])
    assert 0.1 < bounds[0].mean() < 0.9  # the test means something only if decisions vary
    for s in range(len(bounds)):
        np.testing.assert_array_equal(a.boundary[s], bounds[s])
        np.testing.assert_allclose(a.boundary_prob[s], probs[s], atol=2e-5, equal_nan=True)
    np.testing.assert_array_equal(a.chunk_index[0], np.cumsum(bounds[0]) - 1)
    # Without context the stitching would be wrong: each window's first byte is a forced boundary.
    naive = analyze(model, seq, window=128, stride=128)
    starts = [w.start for w in plan_windows(3000, 128, 128)][1:-1]  # the last one is shifted
    assert naive.boundary[0][starts].all() and not bounds[0][starts].all()


def test_batched_many_equals_one_by_one() -> None:
    model = build_model(HNetConfig.from_json(CONFIGS / "tiny-2stage.json"))
    g = genome(2000)
    seqs = [g[:300], g[300:1500], g[1500:1501], g[1501:]]
    together = list(analyze_many(model, seqs, window=256, stride=192, batch_size=4, hidden=["inner"]))
    assert [a.length for a in together] == [300, 1200, 1, 499]
    for seq, a in zip(seqs, together):
        alone = analyze(model, seq, window=256, stride=192, batch_size=1, hidden=["inner"])
        np.testing.assert_array_equal(a.boundary, alone.boundary)
        np.testing.assert_allclose(a.boundary_prob, alone.boundary_prob, atol=1e-5, equal_nan=True)
        np.testing.assert_allclose(a.hidden["inner"], alone.hidden["inner"], atol=1e-4)


def test_isotropic_has_no_stages_but_hidden_states() -> None:
    model = build_model(HNetConfig.from_json(CONFIGS / "tiny-isotropic.json"))
    a = analyze(model, genome(100), window=64, stride=48, hidden=["decoder", "inner"])
    assert a.boundary.shape == (0, 100) and a.num_stages == 0
    assert a.hidden["decoder"].shape == (100, 32)
    with pytest.raises(ValueError, match="unknown hidden level"):
        analyze(model, genome(10), hidden=["stage0"])


def test_progress_and_bad_arguments() -> None:
    model = HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json"))
    calls: list[tuple[int, int]] = []
    analyze(model, genome(1000), window=256, stride=200, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (1000, 1000) and all(b[0] > a[0] for a, b in itertools.pairwise(calls))
    stream = io.StringIO()
    bar = ProgressBar(stream=stream)
    analyze(model, genome(300), window=128, stride=100, progress=bar)
    bar.close()
    assert "300 bytes in" in stream.getvalue() and "bytes/s" in stream.getvalue()
    with pytest.raises(ValueError, match="stride"):
        analyze(model, genome(10), window=8, stride=9)
    with pytest.raises(ValueError, match="empty"):
        analyze(model, b"")
    a = analyze(model, genome(50))
    starts, ends = a.chunk_bounds(0)
    assert starts[0] == 0 and ends[-1] == 50 and np.all(starts[1:] == ends[:-1])
    assert len(a.chunk_probs(0)) == a.chunk_count(0) and np.all(a.chunk_probs(0) > 0.5)
