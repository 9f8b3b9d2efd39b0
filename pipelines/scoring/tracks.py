"""Per-position tracks as bedGraph (IGV, UCSC): log-likelihood and predictive entropy per base.

Forward genome coordinates, one line per base, sorted by position; a reverse-strand item (its
bytes are the reverse complement) reports the model's reading of that strand at the forward
positions of the bases. The first base of an item has no prediction and no line.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from pipelines.scoring.sequences import ScoredSequence

TRACKS = {"log_prob": "log2 p(base | upstream), bits", "entropy": "entropy of the predicted next base, bits"}


def bedgraph_text(scored: Sequence[ScoredSequence], kind: str, checkpoint: str) -> str:
    """kind: "log_prob" or "entropy" -> the whole bedGraph file."""
    buf = io.StringIO()
    buf.write(f'track type=bedGraph name="hnet {kind}" description="{TRACKS[kind]} ({checkpoint})"\n')
    for s in scored:
        values = s.track.log_prob if kind == "log_prob" else s.track.entropy
        idx = np.flatnonzero(~np.isnan(values))
        pos = s.item.forward_position(idx)
        order = np.argsort(pos, kind="stable")
        for p, v in zip(pos[order].tolist(), values[idx][order].tolist()):
            buf.write(f"{s.item.chrom}\t{p}\t{p + 1}\t{v:.4f}\n")
    return buf.getvalue()
