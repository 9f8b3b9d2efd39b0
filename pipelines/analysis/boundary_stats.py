"""Where learned boundaries fall relative to genes, next to controls that know nothing.

For each stage and each segmentation (the model's; a fixed grid and uniformly random positions
with the same number of boundaries per sequence; optionally the same architecture with random
weights) this computes, in forward genome coordinates:

- boundary rate (boundaries per base) inside CDS vs outside;
- inside CDS, the rate by codon phase (0 = first base of a codon, in the gene's own orientation,
  counted along the joined CDS of a spliced gene and shifted by ``codon_start``), for all CDS and
  split by whether the gene lies on the strand the model read: a codon-like
  segmentation shows as one phase standing out (3-periodicity);
- a metaplot: the boundary rate at each offset -F..+F around CDS starts (first base of the start
  codon) and stops (last base of the stop codon), offsets in the gene's orientation. Only a gene's
  real first and last codons are anchors: the inner exon edges of a joined CDS (splice sites) and
  the cut ends of a partial (``<``/``>``) CDS are not, so "n" counts genes.

A "boundary" is the first base of a chunk in the model's reading direction, mapped to forward
coordinates (see pipelines/inputs.py for reverse-strand regions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hnet_bio.atomic import atomic_path
from modalities.annotations import Feature
from pipelines.inputs import Item

MODEL = "model"
GRID = "fixed-grid"
RANDOM = "random"


@dataclass(frozen=True)
class PhaseRates:
    """Boundaries per base at codon phase 0, 1, 2 (None where no base has that phase): over all
    CDS, over CDS on the strand the model read, and over CDS on the other strand."""

    all: list[float | None]
    same_strand: list[float | None]
    opposite_strand: list[float | None]


@dataclass(frozen=True)
class SegmentationStats:
    """One segmentation of one stage against the CDS annotation (rates are boundaries per base)."""

    boundaries: int
    bases_in_cds: int
    bases_outside_cds: int
    rate_in_cds: float | None
    rate_outside_cds: float | None
    in_out_ratio: float | None
    phase_rate: PhaseRates
    phase_contrast: float | None  # (max - min) / mean of the three phase rates
    metaplot_start: list[float]  # (2F+1,) rate at offsets -F..F around CDS starts
    metaplot_stop: list[float]  # (2F+1,) the same around CDS stops
    metaplot_cds_starts: int  # starts counted (the most at any offset)
    metaplot_cds_stops: int

    def metaplot(self, at_start: bool) -> tuple[list[float], int]:
        """(rate per offset, anchors counted) around CDS starts (at_start) or stops."""
        if at_start:
            return self.metaplot_start, self.metaplot_cds_starts
        return self.metaplot_stop, self.metaplot_cds_stops


@dataclass(frozen=True)
class StageStats:
    stage: int
    segmentations: dict[str, SegmentationStats]  # MODEL, GRID, RANDOM, then any extra controls


@dataclass(frozen=True)
class AnnotationStats:
    """What ``hnet-bio boundaries --annotations`` writes as OUT.cds.json (`to_json`)."""

    flank: int
    cds_features: int  # joined CDS (genes) with a base in the analysed regions, not exon parts
    bases: int
    stages: list[StageStats]
    checkpoint: str | None = None  # the checkpoint as the user named it, once the job knows it

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in field order (``checkpoint`` only when set)."""
        out = asdict(self)
        if self.checkpoint is None:
            del out["checkpoint"]
        return out


def grid_positions(length: int, n: int) -> np.ndarray:
    """n boundaries evenly spaced over [0, length), the first at 0."""
    return np.unique((np.arange(n, dtype=np.int64) * length) // max(n, 1))


def random_positions(length: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct uniformly random positions in [0, length)."""
    return np.sort(rng.choice(length, size=min(n, length), replace=False))


@dataclass
class _Track:
    """Per-item gene annotation over the item's forward span [start0, end0)."""

    phase: np.ndarray  # (L,) int8: codon phase in the gene's orientation, -1 outside CDS
    same: np.ndarray  # (L,) bool: the CDS lies on the strand the model read
    starts: np.ndarray  # (n,) forward coordinate of CDS start anchors within the span
    start_dir: np.ndarray  # (n,) +1 / -1 gene orientation
    stops: np.ndarray
    stop_dir: np.ndarray


def _track(item: Item, features: Sequence[Feature]) -> _Track:
    """The phase of every CDS base of the item's span, following the joined CDS (exon parts keep
    counting where the previous part stopped; ``codon_start`` shifts the frame), and the anchors:
    the real first base of each start codon (first part, 5' end complete) and the real last base of
    each stop codon (last part, 3' end complete). Exon edges inside a joined CDS are neither."""
    lo, hi = item.start0, item.end0
    phase = np.full(hi - lo, -1, dtype=np.int8)
    same = np.zeros(hi - lo, dtype=bool)
    starts, sdir, stops, tdir = [], [], [], []
    for f in features:
        if f.record != item.chrom or f.end0 <= lo or f.start0 >= hi or f.strand not in "+-":
            continue
        x = np.arange(max(f.start0, lo), min(f.end0, hi))
        phase[x - lo] = f.phase(x)
        same[x - lo] = f.strand == item.strand
        first, last = (f.start0, f.end0 - 1) if f.strand == "+" else (f.end0 - 1, f.start0)
        d = 1 if f.strand == "+" else -1
        if f.has_start and lo <= first < hi:
            starts.append(first)
            sdir.append(d)
        if f.has_stop and lo <= last < hi:
            stops.append(last)
            tdir.append(d)
    return _Track(phase, same, np.array(starts, dtype=np.int64), np.array(sdir, dtype=np.int64),
                  np.array(stops, dtype=np.int64), np.array(tdir, dtype=np.int64))


def genes_in(items: Sequence[Item], features: Sequence[Feature]) -> int:
    """How many joined CDS (genes, not exon parts) have at least one base in the analysed spans."""
    keys = {f.gene_key for f in features if f.type == "CDS"
            for it in items if f.record == it.chrom and f.start0 < it.end0 and f.end0 > it.start0}
    return len(keys)


def _metaplot(marks: list[np.ndarray], items: list[Item], anchors: list[tuple[np.ndarray, np.ndarray]],
              flank: int) -> tuple[np.ndarray, np.ndarray]:
    """(rate per offset (2F+1,), anchors counted per offset (2F+1,))."""
    offsets = np.arange(-flank, flank + 1)
    hits = np.zeros(offsets.size)
    count = np.zeros(offsets.size)
    for mark, item, (where, direction) in zip(marks, items, anchors):
        if where.size == 0:
            continue
        x = where[:, None] + direction[:, None] * offsets[None]  # (n, 2F+1) forward coordinates
        ok = (x >= item.start0) & (x < item.end0)
        idx = np.clip(x - item.start0, 0, item.length - 1)
        hits += (mark[idx] & ok).sum(0)
        count += ok.sum(0)
    return hits / np.maximum(count, 1), count


def _rate(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def segmentation_stats(
    marks: list[np.ndarray], items: list[Item], tracks: list[_Track], flank: int
) -> SegmentationStats:
    """Statistics of one segmentation; marks[i] (L_i,) bool over item i's forward span."""
    inside = outside = b_in = b_out = 0
    ph_b = np.zeros((3, 3))  # rows: all / same strand / opposite; columns: phase
    ph_n = np.zeros((3, 3))
    for mark, tr in zip(marks, tracks):
        cds = tr.phase >= 0
        inside += int(cds.sum())
        outside += int((~cds).sum())
        b_in += int((mark & cds).sum())
        b_out += int((mark & ~cds).sum())
        for row, sel in enumerate((cds, cds & tr.same, cds & ~tr.same)):
            ph_n[row] += np.bincount(tr.phase[sel], minlength=3)
            ph_b[row] += np.bincount(tr.phase[sel & mark], minlength=3)
    start_rate, start_n = _metaplot(marks, items, [(t.starts, t.start_dir) for t in tracks], flank)
    stop_rate, stop_n = _metaplot(marks, items, [(t.stops, t.stop_dir) for t in tracks], flank)
    phases = PhaseRates(*([_rate(ph_b[r, k], ph_n[r, k]) for k in range(3)] for r in range(3)))
    rate_in, rate_out = _rate(b_in, inside), _rate(b_out, outside)
    return SegmentationStats(
        boundaries=int(sum(int(m.sum()) for m in marks)),
        bases_in_cds=inside, bases_outside_cds=outside,
        rate_in_cds=rate_in, rate_outside_cds=rate_out,
        in_out_ratio=(rate_in / rate_out) if rate_in is not None and rate_out else None,
        phase_rate=phases,
        phase_contrast=_contrast(phases.all),
        metaplot_start=[float(v) for v in start_rate], metaplot_stop=[float(v) for v in stop_rate],
        metaplot_cds_starts=int(start_n.max()) if start_n.size else 0,
        metaplot_cds_stops=int(stop_n.max()) if stop_n.size else 0,
    )


def _contrast(rates: list[float | None]) -> float | None:
    """(max - min) / mean of the three phase rates: 0 for no 3-periodicity."""
    vals = [r for r in rates if r is not None]
    if len(vals) < 3 or not np.mean(vals):
        return None
    return float((max(vals) - min(vals)) / np.mean(vals))


def forward_marks(item: Item, boundary: np.ndarray) -> np.ndarray:
    """(L,) bool boundary flags over the item's forward span (reversed for a '-' strand item)."""
    return boundary[::-1].copy() if item.strand == "-" else boundary.copy()


def annotation_stats(
    items: list[Item],
    boundaries: dict[str, list[np.ndarray]],
    features: Sequence[Feature],
    flank: int = 150,
    seed: int = 0,
) -> AnnotationStats:
    """Statistics per stage and segmentation.

    boundaries: segmentation name -> per item (S, L_i) bool boundary flags in the item's byte
    order (as `Analysis.boundary`); it must include "model", whose per-item, per-stage counts the
    fixed-grid and random controls reproduce.
    """
    tracks = [_track(it, features) for it in items]
    model = boundaries[MODEL]
    stages = int(model[0].shape[0]) if model else 0
    rng = np.random.default_rng(seed)
    out = []
    for s in range(stages):
        segs: dict[str, list[np.ndarray]] = {}
        for name, per_item in boundaries.items():
            segs[name] = [forward_marks(it, b[s]) for it, b in zip(items, per_item)]
        grid, rand = _controls(items, segs[MODEL], rng)
        segs = {MODEL: segs[MODEL], GRID: grid, RANDOM: rand,
                **{k: v for k, v in segs.items() if k != MODEL}}
        out.append(StageStats(s, {k: segmentation_stats(v, items, tracks, flank) for k, v in segs.items()}))
    return AnnotationStats(flank=flank, cds_features=genes_in(items, features),
                           bases=int(sum(it.length for it in items)), stages=out)


def _controls(
    items: list[Item], model: list[np.ndarray], rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(fixed grid, uniformly random) boundary flags with the model's count on each item."""
    grid: list[np.ndarray] = []
    rand: list[np.ndarray] = []
    for it, m in zip(items, model):
        n = int(m.sum())
        controls = ((grid, grid_positions(it.length, n)), (rand, random_positions(it.length, n, rng)))
        for dest, pos in controls:
            mark = np.zeros(it.length, dtype=bool)
            mark[pos] = True
            dest.append(mark)
    return grid, rand


def markdown_table(stats: AnnotationStats) -> str:
    """The headline numbers as a Markdown table (one row per stage and segmentation)."""
    rows = ["| stage | segmentation | boundaries | per kb in CDS | per kb outside | in/out | "
            "phase 0 / 1 / 2 (per kb) | phase contrast |", "|---|---|---|---|---|---|---|---|"]

    def kb(v: float | None) -> str:
        return "-" if v is None else f"{1000 * v:.1f}"

    for st in stats.stages:
        for name, r in st.segmentations.items():
            ph = " / ".join(kb(v) for v in r.phase_rate.all)
            ratio = "-" if r.in_out_ratio is None else f"{r.in_out_ratio:.3f}"
            contrast = "-" if r.phase_contrast is None else f"{r.phase_contrast:.3f}"
            rows.append(f"| {st.stage} | {name} | {r.boundaries:,} | {kb(r.rate_in_cds)} | "
                        f"{kb(r.rate_outside_cds)} | {ratio} | {ph} | {contrast} |")
    return "\n".join(rows)


def plot_metaplot(stats: AnnotationStats, path: str) -> None:
    """Boundary rate around CDS starts and stops, one row of panels per stage, written atomically."""
    import matplotlib  # why: heavy, and only this figure needs it (the CLI imports this module)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flank = stats.flank
    x = np.arange(-flank, flank + 1)
    n = max(1, len(stats.stages))
    fig, axes = plt.subplots(n, 2, figsize=(11, 3.2 * n), squeeze=False, sharey="row")
    for row, st in enumerate(stats.stages):
        for col, at_start, title in ((0, True, "CDS start (first base of start codon)"),
                                     (1, False, "CDS stop (last base of stop codon)")):
            ax = axes[row][col]
            for name, r in st.segmentations.items():
                ax.plot(x, 1000 * np.asarray(r.metaplot(at_start)[0]), label=name,
                        lw=1.2 if name == MODEL else 0.8)
            ax.axvline(0, color="grey", lw=0.5)
            ax.set_title(f"stage {st.stage}: {title}", fontsize=9)
            ax.set_xlabel("offset (bp, gene orientation)")
            ax.set_ylabel("boundaries per kb")
        axes[row][0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
