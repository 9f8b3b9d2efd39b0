"""Whole-sequence scores: total and mean log-likelihood (bits/base), forward, reverse complement
and their mean, from the per-position tracks of `likelihood.sequence_track`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pipelines.inputs import Item
from pipelines.scoring.likelihood import Model, PositionTrack, reverse_complement, sequence_track


@dataclass
class SequenceScore:
    """One sequence's log-likelihood in bits over its L - 1 predicted bases (the first has none)."""

    name: str
    chrom: str
    start: int  # forward genome coordinate of the first base, 0-based
    end: int
    strand: str
    length: int
    ll_fwd: float
    ll_rc: float

    @property
    def ll_mean(self) -> float:
        return (self.ll_fwd + self.ll_rc) / 2

    def per_base(self, total: float) -> float:
        return total / (self.length - 1) if self.length > 1 else math.nan

    def to_json(self) -> dict[str, Any]:
        return dict(
            asdict(self),
            ll_mean=self.ll_mean,
            bits_per_base_fwd=self.per_base(self.ll_fwd),
            bits_per_base_rc=self.per_base(self.ll_rc),
            bits_per_base_mean=self.per_base(self.ll_mean),
        )


@dataclass
class ScoredSequence:
    """A `SequenceScore` and the forward-strand track it was summed from (for bedGraph files)."""

    item: Item
    score: SequenceScore
    track: PositionTrack  # over the item's bytes (reverse-strand items: reverse-complement bytes)


def score_items(
    model: Model, items: Sequence[Item], window: int, stride: int, batch_size: int = 8
) -> list[ScoredSequence]:
    """Score each item on both strands (window/stride: `analysis.windows`)."""
    out = []
    for it in items:
        fwd = sequence_track(model, it.data, window, stride, batch_size)
        rc = sequence_track(model, reverse_complement(it.data), window, stride, batch_size)
        score = SequenceScore(
            it.name, it.chrom, it.start0, it.end0, it.strand, it.length, fwd.total, rc.total
        )
        out.append(ScoredSequence(it, score, fwd))
    return out


SEQUENCE_COLUMNS = (
    "name",
    "chrom",
    "start",
    "end",
    "strand",
    "length",
    "ll_fwd",
    "ll_rc",
    "ll_mean",
    "bits_per_base_fwd",
    "bits_per_base_rc",
    "bits_per_base_mean",
)


def sequences_tsv(scores: Sequence[SequenceScore]) -> str:
    """One line per sequence, the columns of `SEQUENCE_COLUMNS` (bits; the TSV of `score --fasta`)."""
    lines = ["\t".join(SEQUENCE_COLUMNS)]
    for s in scores:
        d = s.to_json()
        lines.append(
            "\t".join(f"{d[c]:.6g}" if isinstance(d[c], float) else str(d[c]) for c in SEQUENCE_COLUMNS)
        )
    return "\n".join(lines) + "\n"
