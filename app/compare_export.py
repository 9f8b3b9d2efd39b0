"""Comparing two checkpoints on the same input, and exporting what the page shows.

Agreement of two segmentations of the same bytes, per stage both models have: the F1 (Dice) of
their boundary positions, 2|A ∩ B| / (|A| + |B|) (1 = identical cuts, about the boundary rate for
unrelated ones), next to the fraction of bytes with the same cut / no-cut decision.
Exports reuse the writers of `hnet-bio boundaries` (pipelines/analysis/boundary_files.py: BED,
bedGraph, CSV), so a file from the browser and one from the command line read the same. The PNG
is drawn with matplotlib (plotly's PNG export needs kaleido and a browser download, which this
project does not assume).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from app.dna_view import STAGE_COLORS, feature_lanes, gc_track
from modalities.annotations import Feature
from modalities.audio import mu_law_decode
from pipelines.analysis import Analysis
from pipelines.analysis.boundary_files import bed_text, bedgraph_text, csv_text
from pipelines.inputs import Item


def boundary_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """F1 of boundary positions of two (L,) bool masks over the same bytes (1.0 if both have none)."""
    if a.shape != b.shape:
        raise ValueError(f"segmentations of different lengths: {a.shape} vs {b.shape}")
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


@dataclass(frozen=True)
class StageAgreement:
    """How two segmentations of the same bytes agree at one stage."""

    stage: int
    f1: float  # F1 of boundary positions (4 decimals)
    same_decision: float  # fraction of bytes with the same cut / no-cut decision (4 decimals)
    boundaries_first: int
    boundaries_second: int

    def table_row(self) -> dict[str, float]:
        """The row as the page's table shows it (column title -> value)."""
        return {"stage": self.stage, "boundary F1": self.f1,
                "same decision (fraction of bytes)": self.same_decision,
                "boundaries (first)": self.boundaries_first, "boundaries (second)": self.boundaries_second}


def agreement_table(a: Analysis, b: Analysis) -> list[StageAgreement]:
    """Per common stage: F1 of boundaries, same decision fraction, boundary counts of each."""
    return [StageAgreement(s, round(boundary_agreement(a.boundary[s], b.boundary[s]), 4),
                           round(float((a.boundary[s] == b.boundary[s]).mean()), 4),
                           int(a.boundary[s].sum()), int(b.boundary[s].sum()))
            for s in range(min(a.num_stages, b.num_stages))]


EXPORTS = {"dna": ("BED", "bedGraph"), "audio": ("CSV",)}


def export_text(fmt: str, item: Item, a: Analysis) -> tuple[str, str]:
    """(file name, text) of boundaries in ``fmt`` for one item and its analysis."""
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{item.name}_{item.start0}")
    if fmt == "BED":
        return f"{stem}.bed", bed_text([item], [a])
    if fmt == "bedGraph":
        return f"{stem}.bedgraph", bedgraph_text([item], [a])
    if fmt == "CSV":
        return f"{stem}.csv", csv_text([item], [a])
    raise ValueError(f"unknown export format {fmt!r}")


def figure_png(kind: str, item: Item, a: Analysis, features: list[Feature], offset: int = 0,
               title: str = "") -> bytes:
    """The page's tracks as a PNG (boundaries, probability with the 0.5 line, GC or waveform, features)."""
    import matplotlib  # why: heavy, and only a PNG download needs it (the page draws with plotly)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if kind == "audio":
        sr = float(item.sample_rate or 1)
        x = (offset + np.arange(item.length)) / sr
        xlabel = "time (s)"
    else:
        x = item.forward_position(np.arange(item.length)) + 1
        xlabel = f"{item.chrom} (1-based)"
    rows = 3 if kind == "audio" else 4
    fig, axes = plt.subplots(rows, 1, figsize=(12, 1.6 * rows + 0.6), sharex=True)
    top = axes[0]
    if kind == "audio":
        top.plot(x, mu_law_decode(item.data), lw=0.5, color="#1f4e79")
    for s in range(a.num_stages):
        top.vlines(x[a.boundary[s]], -1 + 0.2 * s, 1 - 0.2 * s, lw=0.4 + 0.6 * s, color=STAGE_COLORS[s % 3],
                   alpha=0.4 if kind == "audio" and s == 0 else 1.0, label=f"stage {s}")
        p = a.boundary_prob[s]
        ok = ~np.isnan(p)
        axes[1].plot(x[ok], p[ok], lw=0.6, color=STAGE_COLORS[s % 3], label=f"stage {s} p")
    top.set_yticks([])
    top.set_title("waveform and chunk boundaries" if kind == "audio" else "chunk boundaries", fontsize=9)
    axes[1].axhline(0.5, ls="--", color="grey", lw=0.7)
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("p")
    if kind == "audio":
        axes[2].specgram(mu_law_decode(item.data), NFFT=256, Fs=sr, noverlap=224)
        axes[2].set_ylabel("Hz")
    else:
        axes[2].plot(x, gc_track(item.data), lw=0.7, color="#7a5195")
        axes[2].set_ylim(0, 1)
        axes[2].set_ylabel("GC")
        lo, hi = x.min(), x.max()
        for f, y, color in feature_lanes(features, lo, hi):
            axes[3].barh(y, f.end0 - f.start0, left=f.start0 + 1, height=0.2, color=color)
        axes[3].set_ylim(-1, 1)
        axes[3].set_yticks([-0.5, 0.5], ["-", "+"])
        axes[3].set_ylabel("CDS/genes")
        if item.strand == "-":
            axes[3].invert_xaxis()
    axes[-1].set_xlabel(xlabel)
    axes[-1].set_xlim(x.min(), x.max()) if item.strand == "+" or kind == "audio" else None
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
