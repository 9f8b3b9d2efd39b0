"""The variant window rule, and every reason a variant is not scored.

**Rule.** A variant at 0-based ``pos`` with reference allele REF is scored over the genome span
``[pos - flank, pos + len(REF) + flank)``: ``flank`` bases on each side, so the window is centred
on the variant. The REF window is that span as it is; the ALT window is the same span with REF
replaced by ALT (for an indel the two differ in length by ``len(ALT) - len(REF)``). The score is
``LL(ALT window) - LL(REF window)`` in bits, on the forward strand and on the reverse complement of
both windows, and their mean.

Why centred and why the same span: the model is causal, so on the forward strand it judges the
variant from the ``flank`` bases upstream and the variant's effect shows in how well the ``flank``
bases downstream are predicted; the reverse complement reads the same span the other way, so the
strand mean uses both sides as context and both sides as evidence. Scoring the same genomic span
for REF and ALT makes the delta a likelihood ratio of two haplotypes of one locus (an insertion
pays for its extra bases, a deletion saves them). Bases upstream of the variant are identical in
the two windows and so are their predictions: they contribute exactly zero to the delta, which is
what lets `prefix` compute them once. The default flank, 63, makes an SNV window 127 bases: well
inside the shipped model's training length (1,024), and exactly two 64-byte chunks of the
Mamba-2 scan, which pads every sequence to a multiple of its chunk length (a 129-base window
would pay for three; measured 1.35x slower). docs/scoring.md gives the cost of other flanks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

DEFAULT_FLANK = 63  # an SNV window of 127 bases: two SSD chunks of 64 (see above)
MAX_INDEL = 50  # longest |len(ALT) - len(REF)| and longest allele scored
NUCLEOTIDES = frozenset(b"ACGTN")

# Every status a variant can get; "ok" is the only one that carries scores.
STATUSES: dict[str, str] = {
    "ok": "scored",
    "missing_contig": "the contig is not in the reference FASTA",
    "ref_mismatch": "REF disagrees with the reference FASTA",
    "symbolic_alt": "symbolic ALT (<DEL>, <INS>, ...), not scored",
    "breakend_alt": "breakend ALT (N[chr:pos[ ...), not scored",
    "no_alt": "ALT is missing ('.') or an overlapping deletion ('*')",
    "bad_allele": "an allele has letters other than A, C, G, T, N",
    "near_end": "the window would run past an end of the contig",
    "indel_too_long": f"indel or allele longer than {MAX_INDEL} bases",
}


@dataclass(frozen=True)
class Variant:
    """One REF -> ALT change at 0-based ``pos`` of ``chrom`` (a multi-allelic record gives several)."""

    chrom: str
    pos: int
    ref: str
    alt: str
    id: str = "."
    record: int = 0  # index of the VCF record it came from (for writing back)
    alt_index: int = 0  # which ALT of that record


def allele_status(ref: str, alt: str) -> str | None:
    """The status of an allele pair on its own (no reference needed), None if it looks scorable."""
    if alt.startswith("<"):
        return "symbolic_alt"
    if "[" in alt or "]" in alt:
        return "breakend_alt"
    if alt in (".", "*", ""):
        return "no_alt"
    if not (set(ref.upper().encode()) <= NUCLEOTIDES and set(alt.upper().encode()) <= NUCLEOTIDES) or not ref:
        return "bad_allele"
    if max(len(ref), len(alt)) > MAX_INDEL + 1 or abs(len(ref) - len(alt)) > MAX_INDEL:
        return "indel_too_long"
    return None


def variant_status(v: Variant, genome: Mapping[str, np.ndarray], flank: int) -> str:
    """Why ``v`` cannot be scored against ``genome`` with this flank, or "ok"."""
    own = allele_status(v.ref, v.alt)
    if own is not None:
        return own
    seq = genome.get(v.chrom)
    if seq is None:
        return "missing_contig"
    end = v.pos + len(v.ref)
    if v.pos < 0 or end > seq.size or seq[v.pos : end].tobytes().upper() != v.ref.upper().encode():
        return "ref_mismatch"
    if v.pos - flank < 0 or end + flank > seq.size:
        return "near_end"
    return "ok"


@dataclass(frozen=True)
class Site:
    """One REF window and the ALT alleles scored against it (a multi-allelic site, or ISM's 3)."""

    left: np.ndarray  # (flank,) uint8, the bases before the variant
    ref: bytes
    alts: tuple[bytes, ...]
    right: np.ndarray  # (flank,) uint8, the bases after REF

    def rows(self) -> list[np.ndarray]:
        """The REF window then each ALT window, forward strand, as uint8 rows."""
        return [
            np.concatenate([self.left, np.frombuffer(a, dtype=np.uint8), self.right])
            for a in (self.ref, *self.alts)
        ]


def site_for(
    genome: Mapping[str, np.ndarray], chrom: str, pos: int, ref: str, alts: tuple[str, ...], flank: int
) -> Site:
    """The `Site` of alleles at ``pos`` (they passed `variant_status`)."""
    seq = genome[chrom]
    end = pos + len(ref)
    return Site(
        seq[pos - flank : pos],
        ref.upper().encode(),
        tuple(a.upper().encode() for a in alts),
        seq[end : end + flank],
    )
