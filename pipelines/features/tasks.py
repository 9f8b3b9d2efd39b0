"""Built-in downstream tasks on the real corpora, with fixed splits that never share a source.

- ``organism``: which of the 4 species (E. coli, H. pylori, S. aureus, V. cholerae) a 512 bp window
  comes from. Train windows from `dna-bacteria`'s training strains, test windows from its held-out
  strains (one whole genome per species, the pretraining split), so a model that memorised its
  training genomes gains nothing.
- ``coding``: whether a 200 bp window's centre base lies in a CDS (either strand). Train on the
  Leptospira genome (`test.gbk.gz`), test on the E. coli draft (`test.gff.gz`) of `dna-annotated`;
  classes balanced by sampling the same number of centres inside and outside CDS.
- ``speech-music``: 1-second windows of `audio-speech` vs `audio-music` at their native rate
  (8 kHz, `modalities.corpora`), split by file
  (each corpus's own train/eval file split), classes balanced.

Windows are drawn with a seeded generator (same seed, same windows); DNA windows with more than
10% N are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modalities.annotations import read_annotations
from modalities.corpora import CORPORA, Corpus, corpus_files, open_corpus
from modalities.dna import n_fraction, read_fasta
from modalities.errors import CorpusError

TASKS = ("organism", "coding", "speech-music")
MAX_N = 0.1


def _recorded_rate(*corpora: str) -> int:
    """The native rate the audio corpora were recorded at (the same for all of them)."""
    rates = {CORPORA[name].native_rate for name in corpora}
    rate = rates.pop()
    assert rate is not None and not rates, f"{corpora}: no single native rate"
    return rate


# speech-music windows come at the corpora's own rate, so no window is resampled
SPEECH_MUSIC_RATE = _recorded_rate("audio-speech", "audio-music")


@dataclass
class Task:
    """A labelled train/test split of byte sequences (uint8 arrays) plus how they were drawn."""

    name: str
    modality: str
    x_train: list[np.ndarray]
    y_train: np.ndarray  # (N,) str labels
    x_test: list[np.ndarray]  # empty when evaluation is by cross-validation
    y_test: np.ndarray | None
    description: str
    sample_rate: int | None = None
    info: dict[str, Any] = field(default_factory=dict)  # how the examples were drawn (written to the report)


@dataclass
class _Split:
    """Examples of one split as they are drawn, class by class."""

    xs: list[np.ndarray] = field(default_factory=list)
    ys: list[str] = field(default_factory=list)

    def add(self, windows: list[np.ndarray], label: str) -> None:
        self.xs += windows
        self.ys += [label] * len(windows)


def _windows_from_units(corpus: Corpus, units: list[int], n: int, size: int, rng: np.random.Generator,
                        dna: bool) -> list[np.ndarray]:
    """n windows of `size` bytes at uniformly random places among `units` (length-weighted)."""
    lengths = np.array([corpus.units[u].length for u in units], dtype=np.float64)
    ok = lengths >= size
    if not ok.any():
        raise CorpusError(corpus.spec, f"no unit is at least {size} bytes long")
    weights = np.where(ok, lengths - size + 1, 0.0)
    out: list[np.ndarray] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n:
            raise CorpusError(corpus.spec, f"could not draw {n} clean windows of {size} bytes")
        u = units[int(rng.choice(len(units), p=weights / weights.sum()))]
        start = int(rng.integers(0, corpus.units[u].length - size + 1))
        w = corpus.read(u, start, start + size)
        if dna and n_fraction(w) > MAX_N:
            continue
        out.append(w)
    return out


def organism_task(n_train: int = 100, n_test: int = 50, size: int = 512, seed: int = 0) -> Task:
    """n_train / n_test windows per species, from training / held-out strains."""
    rng = np.random.default_rng(seed)
    train, test = _Split(), _Split()
    for part, split, n in ((train, "train", n_train), (test, "eval", n_test)):
        corpus = open_corpus("dna-bacteria", split)
        for species in sorted({u.group for u in corpus.units}):
            units = [i for i, u in enumerate(corpus.units) if u.group == species]
            part.add(_windows_from_units(corpus, units, n, size, rng, dna=True), species)
    return Task("organism", "dna", train.xs, np.array(train.ys), test.xs, np.array(test.ys),
                f"species of a {size} bp window; train strains vs held-out strains (dna-bacteria split)",
                info={"window": size, "n_train_per_class": n_train, "n_test_per_class": n_test})


def _coding_windows(
    path: str, n: int, size: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[str]]:
    records = {r.name: r.seq for r in read_fasta(path)}
    feats = read_annotations(path, types=("CDS",))
    masks = {name: np.zeros(len(seq), dtype=bool) for name, seq in records.items()}
    for f in feats:
        if f.record in masks:
            masks[f.record][f.start0 : f.end0] = True
    half = size // 2
    centres: dict[bool, list[tuple[str, int]]] = {True: [], False: []}
    for name, mask in masks.items():
        if mask.size < size:
            continue
        idx = np.arange(half, mask.size - (size - half) + 1)
        for label in (True, False):
            centres[label] += [(name, int(i)) for i in idx[mask[idx] == label]]
    xs: list[np.ndarray] = []
    ys: list[str] = []
    for label in (True, False):
        pool = centres[label]
        picked = 0
        for j in rng.permutation(len(pool)):
            name, c = pool[int(j)]
            w = np.frombuffer(records[name][c - half : c - half + size], dtype=np.uint8)
            if n_fraction(w) > MAX_N:
                continue
            xs.append(w)
            ys.append("coding" if label else "noncoding")
            picked += 1
            if picked == n:
                break
        if picked < n:
            raise CorpusError(path, f"only {picked} clean {'coding' if label else 'noncoding'} windows")
    return xs, ys


def coding_task(n_train: int = 200, n_test: int = 100, size: int = 200, seed: int = 0) -> Task:
    """n_train / n_test windows per class: Leptospira (GenBank) to train, E. coli (GFF3) to test."""
    files = {p.name: str(p) for p in corpus_files(CORPORA["dna-annotated"])}
    if "test.gbk.gz" not in files or "test.gff.gz" not in files:
        raise CorpusError("dna-annotated", "corpus not present; run `hnet-bio data fetch`")
    rng = np.random.default_rng(seed)
    xtr, ytr = _coding_windows(files["test.gbk.gz"], n_train, size, rng)
    xte, yte = _coding_windows(files["test.gff.gz"], n_test, size, rng)
    return Task("coding", "dna", xtr, np.array(ytr), xte, np.array(yte),
                f"is the centre of a {size} bp window in a CDS; train Leptospira, test E. coli",
                info={"window": size, "n_train_per_class": n_train, "n_test_per_class": n_test})


def speech_music_task(n_train: int = 40, n_test: int = 20, seconds: float = 1.0, seed: int = 0,
                      sample_rate: int = SPEECH_MUSIC_RATE) -> Task:
    """n_train / n_test one-second windows per class, train files vs held-out files."""
    rng = np.random.default_rng(seed)
    size = round(seconds * sample_rate)
    train, test = _Split(), _Split()
    for label, corpus_name in (("music", "audio-music"), ("speech", "audio-speech")):
        for part, split, n in ((train, "train", n_train), (test, "eval", n_test)):
            corpus = open_corpus(corpus_name, split, sample_rate=sample_rate)
            part.add(_windows_from_units(corpus, list(range(len(corpus))), n, size, rng, dna=False), label)
    return Task("speech-music", "audio", train.xs, np.array(train.ys), test.xs, np.array(test.ys),
                f"speech or music, {seconds:g} s windows at {sample_rate} Hz; split by file",
                sample_rate=sample_rate,
                info={"window_s": seconds, "n_train_per_class": n_train, "n_test_per_class": n_test})


def builtin_task(name: str, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Task:
    kwargs = {k: v for k, v in (("n_train", n_train), ("n_test", n_test)) if v is not None}
    if name == "organism":
        return organism_task(seed=seed, **kwargs)
    if name == "coding":
        return coding_task(seed=seed, **kwargs)
    if name == "speech-music":
        return speech_music_task(seed=seed, **kwargs)
    raise ValueError(f"unknown task {name!r}; built-in tasks: {', '.join(TASKS)}")
