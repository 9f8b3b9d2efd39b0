"""Training and evaluation windows over a :class:`~modalities.corpora.Corpus`.

``RandomWindows[i]`` is a pure function of ``(seed, i)``: a loop resumes exactly by index, and
ranks shard by index with no shared state, whatever the number of DataLoader workers. Windows
never cross unit boundaries, so no window joins two genomes or two recordings.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from modalities.corpora import Corpus
from modalities.dna import n_fraction
from modalities.iupac import complement_table

DEFAULT_NUM_SAMPLES = 2**31 - 1
MAX_REDRAWS = 64
_COMPLEMENT = complement_table()  # one IUPAC table for the codec and the augmentation


def reverse_complement_array(window: np.ndarray) -> np.ndarray:
    """Reverse complement of a uint8 DNA window (IUPAC-aware, case-preserving)."""
    return _COMPLEMENT[window[::-1]]


class RandomWindows(Dataset[torch.Tensor]):
    """Random fixed-length training windows; item ``i`` depends only on ``(seed, i)``.

    A unit is drawn with probability proportional to its length (units shorter than ``length`` are
    never drawn), then a uniform start. ``max_n_frac`` redraws windows that are mostly N, and
    ``rc_augment`` (DNA only) reverse-complements half of the windows.
    """

    def __init__(self, corpus: Corpus, length: int = 1025, seed: int = 0, rc_augment: bool = False,
                 max_n_frac: float | None = None, num_samples: int | None = None) -> None:
        if length < 1:
            raise ValueError("length must be >= 1")
        if rc_augment and corpus.modality != "dna":
            raise ValueError("rc_augment is only meaningful for DNA corpora")
        lengths = np.asarray(corpus.lengths, dtype=np.int64)
        self.lengths = lengths
        self.eligible = np.flatnonzero(lengths >= length)
        if self.eligible.size == 0:
            raise ValueError(f"no unit of {corpus.spec!r} ({corpus.split}) is at least {length} bytes long")
        weights = lengths[self.eligible].astype(np.float64)
        self.cumulative = np.cumsum(weights) / weights.sum()
        self.corpus = corpus
        self.length = length
        self.seed = seed
        self.rc_augment = rc_augment
        self.max_n_frac = max_n_frac
        self.num_samples = DEFAULT_NUM_SAMPLES if num_samples is None else int(num_samples)

    def __len__(self) -> int:
        return self.num_samples

    def locate(self, i: int) -> tuple[int, int, bool]:
        """(unit index, start, reverse-complemented) of item ``i``: the window's provenance."""
        if not 0 <= i < self.num_samples:
            raise IndexError(f"index {i} out of range for {self.num_samples} samples")
        rng = np.random.default_rng([self.seed, i])
        flip = bool(self.rc_augment and rng.random() < 0.5)
        for _ in range(MAX_REDRAWS):
            drawn = int(np.searchsorted(self.cumulative, rng.random(), side="right"))
            unit = int(self.eligible[min(drawn, self.eligible.size - 1)])
            start = int(rng.integers(0, self.lengths[unit] - self.length + 1))
            if self.max_n_frac is None:
                return unit, start, flip
            window = self.corpus.read(unit, start, start + self.length)
            if n_fraction(window) <= self.max_n_frac:
                return unit, start, flip
        raise RuntimeError(f"no window with N fraction <= {self.max_n_frac} found in {MAX_REDRAWS} draws")

    def __getitem__(self, i: int) -> torch.Tensor:
        unit, start, flip = self.locate(int(i))
        window = self.corpus.read(unit, start, start + self.length)  # (length,) uint8
        if flip:
            window = reverse_complement_array(window)
        return torch.from_numpy(np.ascontiguousarray(window))


class EvalWindows(Dataset[torch.Tensor]):
    """Contiguous non-overlapping windows over each unit in order; a unit's tail shorter than
    ``length`` is dropped (so is a whole unit shorter than ``length``). ``max_windows`` keeps an
    evenly spaced subset, in order, so a capped evaluation still covers every part of the corpus.
    """

    def __init__(self, corpus: Corpus, length: int = 1025, max_windows: int | None = None) -> None:
        if length < 1:
            raise ValueError("length must be >= 1")
        self.corpus = corpus
        self.length = length
        counts = np.asarray(corpus.lengths, dtype=np.int64) // length
        self.first = np.concatenate([[0], np.cumsum(counts)])  # window index where each unit starts
        total = int(self.first[-1])
        if max_windows is not None and max_windows < total:
            self.index = np.linspace(0, total - 1, num=max(0, max_windows)).round().astype(np.int64)
        else:
            self.index = np.arange(total, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.index.size)

    def locate(self, i: int) -> tuple[int, int]:
        """(unit index, start) of window ``i``."""
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} windows")
        g = int(self.index[i])
        unit = int(np.searchsorted(self.first, g, side="right") - 1)
        return unit, (g - int(self.first[unit])) * self.length

    def __getitem__(self, i: int) -> torch.Tensor:
        unit, start = self.locate(int(i))
        return torch.from_numpy(self.corpus.read(unit, start, start + self.length))  # (length,) uint8
