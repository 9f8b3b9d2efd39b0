"""Chunk boundaries as files other tools read: BED and bedGraph for DNA, CSV for audio.

The one writer of each format, shared by ``hnet-bio boundaries`` and the browser's export, so a
file from either reads the same.

- BED, 0-based half-open, one line per chunk per stage: ``chrom start end stage<s> score strand``
  with score = round(1000 x the boundary probability at the chunk's first byte, in the model's
  reading direction). Forward genome coordinates; a reverse-strand item (its bytes are the
  reverse complement) has ``-`` in the strand column and its lines sorted by forward start.
- bedGraph: the per-base probability, one track per stage (stage s >= 1 only at the bases it
  sees: the chunk starts of stage s - 1).
- CSV (audio): ``file,stage,start_s,end_s,probability`` per chunk, or ``file,stage,time_s,probability``
  per sample, in seconds at the item's sample rate.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from pipelines.analysis.result import Analysis
from pipelines.inputs import Item


def bed_text(items: list[Item], analyses: list[Analysis]) -> str:
    """The chunks of every item and stage as BED lines (see the module docstring)."""
    buf = io.StringIO()
    for it, a in zip(items, analyses):
        for s in range(a.num_stages):
            starts, ends = a.chunk_bounds(s)
            score = np.clip(np.rint(a.chunk_probs(s) * 1000), 0, 1000).astype(np.int64)
            fs, fe = it.forward_interval(starts, ends)
            order = np.argsort(fs, kind="stable")
            strand = it.strand
            for x, y, sc in zip(fs[order].tolist(), fe[order].tolist(), score[order].tolist()):
                buf.write(f"{it.chrom}\t{x}\t{y}\tstage{s}\t{sc}\t{strand}\n")
    return buf.getvalue()


def bedgraph_text(items: list[Item], analyses: list[Analysis]) -> str:
    """The boundary probability of every base each stage sees, one bedGraph track per stage."""
    buf = io.StringIO()
    for s in range(analyses[0].num_stages):
        buf.write(f'track type=bedGraph name="hnet stage{s}" description="H-Net stage {s} boundary '
                  f'probability" viewLimits=0:1\n')
        for it, a in zip(items, analyses):
            p = a.boundary_prob[s]
            idx = np.flatnonzero(~np.isnan(p))
            x = it.forward_position(idx)
            order = np.argsort(x, kind="stable")
            for pos, v in zip(x[order].tolist(), p[idx][order].tolist()):
                buf.write(f"{it.chrom}\t{pos}\t{pos + 1}\t{v:.4f}\n")
    return buf.getvalue()


def _per_stage_csv(header: str, items: list[Item], analyses: list[Analysis],
                   rows: Callable[[Analysis, int, float], Iterable[str]]) -> str:
    """A CSV of every file and stage: the header, then "file,stage," and each of the rows that
    ``rows(analysis, stage, sample_rate)`` gives."""
    buf = io.StringIO()
    buf.write(header)
    for it, a in zip(items, analyses):
        sr = float(it.sample_rate or 1)
        for s in range(a.num_stages):
            for row in rows(a, s, sr):
                buf.write(f"{_csv_field(it.name)},{s},{row}\n")
    return buf.getvalue()


def csv_text(items: list[Item], analyses: list[Analysis]) -> str:
    """The chunks of every audio item and stage, in seconds."""
    def chunks(a: Analysis, s: int, sr: float) -> Iterator[str]:
        starts, ends = a.chunk_bounds(s)
        for x, y, p in zip(starts.tolist(), ends.tolist(), a.chunk_probs(s).tolist()):
            yield f"{x / sr:.6f},{y / sr:.6f},{p:.4f}"

    return _per_stage_csv("file,stage,start_s,end_s,probability\n", items, analyses, chunks)


def probs_csv_text(items: list[Item], analyses: list[Analysis]) -> str:
    """The boundary probability of every sample each stage sees, in seconds."""
    def probs(a: Analysis, s: int, sr: float) -> Iterator[str]:
        p = a.boundary_prob[s]
        for i in np.flatnonzero(~np.isnan(p)).tolist():
            yield f"{i / sr:.6f},{p[i]:.4f}"

    return _per_stage_csv("file,stage,time_s,probability\n", items, analyses, probs)


def _csv_field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text
