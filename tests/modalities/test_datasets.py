"""Windows: determinism by index, provenance against the source files, splits, workers, sharding."""

from __future__ import annotations

import pickle
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from modalities import dna
from modalities.corpora import open_corpus
from modalities.datasets import EvalWindows, RandomWindows
from tests.paths import DATA

FASTAS = [DATA / "ecoli_MG1655_20kb.fa", DATA / "saureus_N315_20kb.fa", DATA / "vcholerae_O395_20kb.fa"]


pytestmark = pytest.mark.usefixtures("cache_dir")


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[list[Path], dict[str, bytes]]:
    """The three real 20 kb slices plus a 5 kb record and a record that is half N."""
    rng = np.random.default_rng(1)
    short = bytes(rng.choice(np.frombuffer(b"ACGT", np.uint8), 5000))
    gappy = bytes(rng.choice(np.frombuffer(b"ACGT", np.uint8), 3000)) + b"N" * 3000
    extra = dna.write_fasta([("short5k", short), ("gappy", gappy)], tmp_path / "extra.fa")
    files = [*FASTAS, extra]
    truth = {r.name: r.seq for f in files for r in dna.read_fasta(f)}
    return files, truth


def test_random_windows_are_deterministic_and_true_to_the_files(mixed) -> None:
    files, truth = mixed
    corpus = open_corpus(files, "all")
    ds = RandomWindows(corpus, length=257, seed=3, num_samples=500)
    again = RandomWindows(open_corpus(",".join(map(str, files)), "all"), length=257, seed=3, num_samples=500)
    other = RandomWindows(corpus, length=257, seed=4, num_samples=500)
    assert len(ds) == 500
    for i in (0, 1, 250, 499, 17, 0):
        w = ds[i]
        assert w.dtype == torch.uint8 and w.shape == (257,)
        assert torch.equal(w, again[i])
        unit, start, flip = ds.locate(i)
        assert not flip and start + 257 <= corpus.lengths[unit]  # never crosses a unit boundary
        assert bytes(w.numpy()) == truth[corpus.names[unit]][start : start + 257]
    assert sum(torch.equal(ds[i], other[i]) for i in range(50)) == 0
    with pytest.raises(IndexError):
        ds[500]


def test_units_drawn_in_proportion_to_length(mixed) -> None:
    files, _ = mixed
    corpus = open_corpus(files, "all")
    ds = RandomWindows(corpus, length=101, num_samples=6000)
    counts = Counter(corpus.names[ds.locate(i)[0]] for i in range(len(ds)))
    total = corpus.total_bytes
    for name, length in zip(corpus.names, corpus.lengths, strict=True):
        expected = len(ds) * length / total
        assert abs(counts[name] - expected) < 5 * np.sqrt(expected), (name, counts[name], expected)
    assert RandomWindows(corpus, length=10_000).eligible.size == 3  # 5 kb and 6 kb records too short


def test_rc_augment_and_n_filter(mixed) -> None:
    files, truth = mixed
    corpus = open_corpus(files, "all")
    ds = RandomWindows(corpus, length=200, seed=0, rc_augment=True, num_samples=400)
    flips = 0
    for i in range(400):
        unit, start, flip = ds.locate(i)
        fwd = truth[corpus.names[unit]][start : start + 200]
        assert bytes(ds[i].numpy()) == (dna.reverse_complement(fwd) if flip else fwd)
        flips += flip
    assert 150 < flips < 250
    gappy = open_corpus([files[-1]], "all")  # short5k + gappy (half N)
    n_frac = [float((w == ord("N")).float().mean()) for w in RandomWindows(gappy, 500, num_samples=300)]
    assert max(n_frac) > 0.5
    filtered = RandomWindows(gappy, 500, max_n_frac=0.1, num_samples=300)
    assert max(float((filtered[i] == ord("N")).float().mean()) for i in range(300)) <= 0.1
    audio_corpus = open_corpus([DATA / "speech_allison_3s.wav"], "all", sample_rate=8000)
    with pytest.raises(ValueError, match="only meaningful for DNA"):
        RandomWindows(audio_corpus, 100, rc_augment=True)


def test_eval_windows_contiguous_and_capped(mixed) -> None:
    files, truth = mixed
    corpus = open_corpus(files, "all")
    ev = EvalWindows(corpus, length=3000)
    assert len(ev) == sum(n // 3000 for n in corpus.lengths) == 6 + 6 + 6 + 1 + 2
    per_unit: dict[str, list[bytes]] = {}
    for i in range(len(ev)):
        unit, _ = ev.locate(i)
        per_unit.setdefault(corpus.names[unit], []).append(bytes(ev[i].numpy()))
    for name, windows in per_unit.items():  # windows tile each unit from its start, in order
        joined = b"".join(windows)
        assert joined == truth[name][: len(joined)] and len(truth[name]) - len(joined) < 3000
    assert list(per_unit) == corpus.names
    assert EvalWindows(corpus, length=6000).locate(0) == (0, 0)  # 5 kb record skipped later, none here
    assert "short5k" not in {corpus.names[EvalWindows(corpus, 6000).locate(i)[0]] for i in range(9)}
    capped = EvalWindows(corpus, length=3000, max_windows=5)
    starts = [ev.index.tolist().index(g) for g in capped.index]
    assert len(capped) == 5 and starts == sorted(starts) and starts[0] == 0 and starts[-1] == len(ev) - 1


def test_train_and_eval_never_share_a_byte(mixed) -> None:
    files, _ = mixed
    for spec in (files, [files[-1]], "dna-sample"):
        train, ev = open_corpus(spec, "train"), open_corpus(spec, "eval")
        assert train.total_bytes > 0 and ev.total_bytes > 0
        spans = {(u.bin_path, u.offset, u.offset + u.length) for u in train.units}
        for u in ev.units:
            for path, lo, hi in spans:
                assert path != u.bin_path or hi <= u.offset or u.offset + u.length <= lo
        whole = open_corpus(spec, "all")
        assert train.total_bytes + ev.total_bytes == whole.total_bytes


def test_dataloader_workers_match_single_process_and_ranks_shard(mixed) -> None:
    files, _ = mixed
    corpus = open_corpus(files, "train")
    corpus.read(0, 0, 10)  # a live memmap must not break pickling to workers
    ds = RandomWindows(corpus, length=129, seed=7, rc_augment=True, num_samples=64)
    serial = list(DataLoader(ds, batch_size=8, num_workers=0))
    parallel = list(DataLoader(ds, batch_size=8, num_workers=2))
    assert len(serial) == 8 and all(torch.equal(a, b) for a, b in zip(serial, parallel, strict=True))
    assert serial[0].shape == (8, 129) and serial[0].dtype == torch.uint8  # (B, L)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=False)
        idx = list(sampler)
        seen.append(set(idx))
        batch = next(iter(DataLoader(ds, batch_size=4, sampler=sampler)))
        assert torch.equal(batch, torch.stack([ds[i] for i in idx[:4]]))
    assert seen[0].isdisjoint(seen[1]) and seen[0] | seen[1] == set(range(64))
    ev = EvalWindows(corpus, 1000)
    assert all(torch.equal(a, b) for a, b in zip(DataLoader(ev, batch_size=5, num_workers=2),
                                                   DataLoader(ev, batch_size=5), strict=True))
    clone = pickle.loads(pickle.dumps(corpus))
    assert np.array_equal(clone.read(1, 100, 200), corpus.read(1, 100, 200))


def test_memory_stays_proportional_to_windows(tmp_path_factory: pytest.TempPathFactory,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HNET_BIO_CACHE", str(tmp_path_factory.mktemp("fresh-cache")))
    tracemalloc.start()
    try:
        corpus = open_corpus("dna-sample", "all")  # streams the 1.65 Mb genome into a fresh cache bin
        build_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        ds = RandomWindows(corpus, length=1025, num_samples=1000)
        for i in range(1000):
            ds[i]
        window_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert corpus.total_bytes == 1_652_982
    assert build_peak < 600_000, build_peak  # far below the genome size: no whole-genome string
    assert window_peak < 200_000, window_peak
