"""The features a user would try before a neural model: GC content, k-mer frequencies, log-mel stats.

k-mer frequencies count overlapping k-mers of A/C/G/T only (a k-mer with any other letter is
skipped) and divide by the number counted, so windows of different lengths are comparable.
Log-mel statistics: mean and standard deviation over time of log mel-band energies of the
mu-law-decoded waveform (torchaudio), a classic speech/music feature set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torchaudio

from modalities.audio import mu_law_decode

_CODE = np.full(256, -1, dtype=np.int64)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[ord(chr(_b).lower())] = _i


def gc_content(seqs: Sequence[np.ndarray]) -> np.ndarray:
    """(N, 1) fraction of G+C among A/C/G/T bases."""
    out = np.zeros((len(seqs), 1), dtype=np.float32)
    for i, s in enumerate(seqs):
        code = _CODE[np.asarray(s, dtype=np.uint8)]
        acgt = code >= 0
        out[i, 0] = float(((code == 1) | (code == 2)).sum()) / max(1, int(acgt.sum()))
    return out


def kmer_frequencies(seqs: Sequence[np.ndarray], k: int) -> np.ndarray:
    """(N, 4**k) relative frequencies of overlapping k-mers (lexicographic order, A<C<G<T)."""
    if not 1 <= k <= 8:
        raise ValueError(f"k must be in 1..8, got {k}")
    out = np.zeros((len(seqs), 4**k), dtype=np.float32)
    for i, s in enumerate(seqs):
        code = _CODE[np.asarray(s, dtype=np.uint8)]
        n = code.size - k + 1
        if n <= 0:
            continue
        index = np.zeros(n, dtype=np.int64)
        valid = np.ones(n, dtype=bool)
        for j in range(k):
            c = code[j : j + n]
            valid &= c >= 0
            index = index * 4 + np.maximum(c, 0)
        counts = np.bincount(index[valid], minlength=4**k)
        out[i] = counts / max(1, int(valid.sum()))
    return out


def logmel_stats(seqs: Sequence[np.ndarray], sample_rate: int, n_mels: int = 40) -> np.ndarray:
    """(N, 2 * n_mels): mean and std over time of log mel energies (25 ms frames, 10 ms hop)."""
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=int(0.025 * sample_rate), hop_length=int(0.010 * sample_rate),
        n_mels=n_mels, f_max=sample_rate / 2,
    )
    out = np.zeros((len(seqs), 2 * n_mels), dtype=np.float32)
    for i, s in enumerate(seqs):
        wave = torch.from_numpy(mu_law_decode(np.asarray(s, dtype=np.uint8)))
        spec = torch.log(mel(wave) + 1e-6)  # (n_mels, frames)
        out[i] = torch.cat([spec.mean(1), spec.std(1)]).numpy()
    return out
