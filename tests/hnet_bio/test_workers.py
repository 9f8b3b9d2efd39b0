"""Worker processes for the analysis forwards: the same result as one process, in order, failures
reported, and a stray print in a worker cannot corrupt the answers."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from hnet_bio import HNetConfig, build_model, workers
from hnet_bio.lm import HNetLM, IsotropicLM
from hnet_bio.threads import idle_cores, usable_cores
from hnet_bio.workers import MIN_BATCHES_PER_WORKER, choose_workers, map_in_workers
from pipelines.analysis import analyze_many
from tests.paths import CONFIGS
from tests.pipelines.analysis.test_analysis import genome


def _scale(model: HNetLM | IsotropicLM, factor: float, chatter: bool) -> float:
    """A job for the workers: the embedding's sum times `factor` (the workers' model is the parent's)."""
    if chatter:
        print("a stray line on the worker's stdout")
    if factor < 0:
        raise ValueError(f"negative factor {factor}")
    return float(model.embeddings.weight.detach().double().sum()) * factor


@pytest.fixture(scope="module")
def model() -> HNetLM | IsotropicLM:
    torch.manual_seed(0)
    return build_model(HNetConfig.from_json(CONFIGS / "tiny-2stage.json")).eval()


def test_two_workers_equal_one_process(model: HNetLM | IsotropicLM) -> None:
    """Several records of uneven length, windows in batches of 2, hidden states kept: every array
    identical to the in-process run (same float ops, so bit for bit), records in order."""
    g = genome(9000)
    seqs = [g[:2500], g[2500:2600], g[3000:9000], g[100:1300]]
    opts = {"window": 512, "stride": 384, "batch_size": 2, "hidden": ["stage0", "inner", "decoder"]}
    here = list(analyze_many(model, seqs, workers=1, **opts))
    there = list(analyze_many(model, seqs, workers=2, **opts))
    assert [a.length for a in there] == [len(s) for s in seqs]
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.boundary, b.boundary)
        np.testing.assert_array_equal(a.boundary_prob, b.boundary_prob)
        np.testing.assert_array_equal(a.chunk_index, b.chunk_index)
        for level in opts["hidden"]:
            np.testing.assert_array_equal(a.hidden[level], b.hidden[level])
            np.testing.assert_array_equal(a.hidden_positions[level], b.hidden_positions[level])


def test_results_in_job_order_despite_stray_prints(model: HNetLM | IsotropicLM) -> None:
    jobs = [(float(i), i % 3 == 0) for i in range(7)]  # 7 jobs over 2 workers: uneven round-robin
    got = list(map_in_workers(model, _scale, jobs, workers=2))
    total = float(model.embeddings.weight.detach().double().sum())
    assert got == pytest.approx([total * i for i in range(7)], rel=1e-12)


def test_a_failing_job_raises_with_the_workers_traceback(model: HNetLM | IsotropicLM) -> None:
    with pytest.raises(RuntimeError, match=r"negative factor -1\.0"):
        list(map_in_workers(model, _scale, [(1.0, False), (-1.0, False), (2.0, False)], workers=2))


def test_choice_of_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """One per idle core, one when busy, short or on a GPU; a request or $HNET_BIO_WORKERS wins."""
    monkeypatch.delenv(workers.WORKERS_ENV, raising=False)
    monkeypatch.setattr(workers, "idle_cores", lambda: 1.8)
    assert choose_workers(10_000) == 2
    assert choose_workers(2 * MIN_BATCHES_PER_WORKER - 1) == 1  # too short to repay a second start
    assert choose_workers(10_000, device=torch.device("cuda")) == 1
    assert choose_workers(100, requested=3) == 3
    monkeypatch.setattr(workers, "idle_cores", lambda: 1.3)  # one core already busy
    assert choose_workers(10_000) == 1
    monkeypatch.setenv(workers.WORKERS_ENV, "3")
    assert choose_workers(10_000) == 3
    assert choose_workers(10_000, device=torch.device("cuda")) == 1  # workers would run on the CPU
    monkeypatch.setenv(workers.WORKERS_ENV, "many")
    with pytest.raises(ValueError, match="HNET_BIO_WORKERS must be a whole number"):
        choose_workers(10_000)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        choose_workers(10, requested=0)


def test_idle_cores_sees_a_busy_core() -> None:
    """A busy-looping thread here makes at least ~half a core less idle than the machine's cores."""
    stop = threading.Event()

    def spin() -> None:  # keeps one core busy until told to stop
        spins = 0
        while not stop.is_set():
            spins += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        busy = idle_cores(0.3)
    finally:
        stop.set()
        t.join()
    assert 0.0 <= busy <= usable_cores() - 0.5
