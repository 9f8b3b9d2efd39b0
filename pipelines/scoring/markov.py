"""An order-k Markov model over A, C, G, T as a variant-scoring baseline: the same window rule and
the same delta (LL(ALT window) - LL(REF window), strand mean) as the neural model, so any gap
between them is what the network learned beyond k-mer statistics.

Counted on whole sequences and their reverse complements (the model trained on both strands),
add-1/2 smoothing; a base whose context holds anything but ACGT is scored at 2 bits (uniform).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from pipelines.scoring.likelihood import reverse_complement
from pipelines.scoring.windows import Site

_CODE = np.full(256, 4, dtype=np.int64)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i


def _kmer_codes(seq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(L,) uint8 -> codes of the (k+1)-mers ending at positions k..L-1 (base-4) and whether each is ACGT."""
    c = _CODE[seq]
    n = seq.size - k
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    code = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    for j in range(k + 1):
        part = c[j : j + n]
        ok &= part < 4
        code = code * 4 + np.minimum(part, 3)
    return code, ok


class MarkovScorer:
    """log2 p(x_i | x_{i-k..i-1}) from (k+1)-mer counts."""

    def __init__(self, order: int, sequences: Iterable[np.ndarray]) -> None:
        self.order = order
        counts = np.zeros(4 ** (order + 1), dtype=np.float64)
        for s in sequences:
            for strand in (s, reverse_complement(s)):
                code, ok = _kmer_codes(strand, order)
                counts += np.bincount(code[ok], minlength=counts.size)
        table = counts.reshape(-1, 4) + 0.5
        self.log2p = np.log2(table / table.sum(1, keepdims=True)).reshape(-1)  # (4^(k+1),)

    def row_ll(self, row: np.ndarray) -> float:
        """Sum of log2 p over bases k..L-1 of ``row`` (the first k have too little context; they
        are upstream of any variant in a window with flank >= k, so they cancel in a delta)."""
        code, ok = _kmer_codes(row, self.order)
        return float(np.where(ok, self.log2p[code], -2.0).sum())

    def site_deltas(self, sites: Sequence[Site]) -> list[list[float]]:
        """Per site, per ALT: strand-mean delta LL, as `variants.site_deltas_full` but Markov."""
        out = []
        for s in sites:
            rows = s.rows()
            f = [self.row_ll(r) for r in rows]
            r = [self.row_ll(reverse_complement(x)) for x in rows]
            out.append([((f[a] - f[0]) + (r[a] - r[0])) / 2 for a in range(1, len(rows))])
        return out
