"""The IUPAC nucleotide alphabet and its complement: the one table the codec, the parsers and the
reverse-complement augmentation share.

Codes (both cases, plus U for RNA): A C G T U, R=A/G, Y=C/T, S=G/C, W=A/T, K=G/T, M=A/C, B=not A,
D=not C, H=not G, V=not T, N=any. Complementing swaps R<->Y, K<->M, B<->V, D<->H and keeps S, W, N;
U complements to A (and A to T: the DNA convention).
"""

from __future__ import annotations

import numpy as np

LETTERS = b"ACGTURYSWKMBDHVNacgturyswkmbdhvn"
COMPLEMENTS = b"TGCAAYRSWMKVHDBNtgcaayrswmkvhdbn"
COMPLEMENT = bytes.maketrans(LETTERS, COMPLEMENTS)  # bytes.translate table; other bytes unchanged


def complement_table() -> np.ndarray:
    """A 256-entry uint8 lookup table mapping each base byte to its complement (others unchanged)."""
    return np.frombuffer(COMPLEMENT, dtype=np.uint8).copy()


def reverse_complement(seq: bytes) -> bytes:
    """IUPAC-aware, case-preserving reverse complement."""
    return bytes(seq).translate(COMPLEMENT)[::-1]
