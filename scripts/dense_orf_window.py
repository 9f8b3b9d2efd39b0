"""The 10 kb of the embedded genome (dna-sample) most covered by long ORFs: where `hnet-bio browse`
opens by default (pipelines/browse.py DEFAULT_REGION_START).

    PYTHONPATH=. python scripts/dense_orf_window.py     # prints record, length, coverage, best window

An ORF here is ATG .. first in-frame stop, >= 300 nt, on either strand: a gene proxy needing no
annotation (the embedded genome has none).
"""

from __future__ import annotations

import numpy as np

from modalities.dna import read_fasta
from modalities.iupac import reverse_complement

STOPS = {b"TAA", b"TAG", b"TGA"}
MIN_ORF = 300
WINDOW = 10_000


def orf_coverage(seq: bytes) -> np.ndarray:
    """(L,) bool: base lies in an ORF of >= MIN_ORF nt on either strand."""
    n = len(seq)
    cov = np.zeros(n, dtype=bool)
    for strand, s in (("+", seq), ("-", reverse_complement(seq))):
        for frame in range(3):
            start = None
            for i in range(frame, n - 2, 3):
                codon = s[i : i + 3]
                if start is None and codon == b"ATG":
                    start = i
                elif start is not None and codon in STOPS:
                    if i + 3 - start >= MIN_ORF:
                        a, b = (start, i + 3) if strand == "+" else (n - i - 3, n - start)
                        cov[a:b] = True
                    start = None
    return cov


def main() -> None:
    from modalities.corpora import CORPORA, corpus_files

    rec = read_fasta(corpus_files(CORPORA["dna-sample"])[0])[0]
    cov = orf_coverage(rec.seq)
    sums = np.concatenate([[0], np.cumsum(cov)])
    dens = (sums[WINDOW:] - sums[:-WINDOW]) / WINDOW
    best = int(np.argmax(dens))
    print(f"{rec.name}: {len(rec.seq):,} bp, {cov.mean():.1%} in long ORFs; best {WINDOW:,} bp window "
          f"{best + 1:,}-{best + WINDOW:,} ({dens[best]:.1%}); median window {np.median(dens):.1%}")


if __name__ == "__main__":
    main()
