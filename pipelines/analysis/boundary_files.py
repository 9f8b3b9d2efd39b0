"""Chunk boundaries as files other tools read: BED and bedGraph for DNA, CSV for audio.

The one writer of each format, shared by ``hnet-bio boundaries`` and the browser's export, so a
file from either reads the same.

- BED, 0-based half-open, one line per chunk per stage: ``chrom start end stage<s> score strand``
  with score = round(1000 x the boundary probability at the chunk's first byte, in the model's
  reading direction). Forward genome coordinates; a reverse-strand item (its bytes are the
  reverse complement) has ``-`` in the strand column and its lines sorted by forward start.
- bedGraph: the per-base probability, one track per stage (stage s >= 1 only at the bases it
  sees: the chunk starts of stage s - 1). Adjacent bases whose value prints the same (4 decimals)
  are one line ``chrom start end value``, as bedGraph intends: a stretch the model is sure about
  costs one line, not one per base (`bedgraph_runs`).
- CSV (audio): ``file,stage,start_s,end_s,probability`` per chunk, or ``file,stage,time_s,probability``
  per sample, in seconds at the item's sample rate; ``file`` is the item's name, unique per input
  (`pipelines.inputs.audio_items`: ``digits/1`` and ``letters/1``, not two ``1``).
- Audacity label track (audio, one per input file): ``start<TAB>end<TAB>stage<s> p=<prob>`` per chunk,
  every stage in one track (Audacity shows overlapping labels in rows). Praat TextGrid (long text
  format): one IntervalTier per stage whose intervals are the chunks, so they tile the sound.

Sorted and indexed forms (bgzip + tabix, bigWig) of the same lines are written by `track_files`.
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


def bedgraph_runs(item: Item, analysis: Analysis, stage: int) -> Iterator[tuple[int, int, str]]:
    """(start, end, value) in forward coordinates, sorted, adjacent bases with the same printed value
    merged into one run (the value as written: 4 decimals)."""
    p = analysis.boundary_prob[stage]
    idx = np.flatnonzero(~np.isnan(p))
    if idx.size == 0:
        return
    x = item.forward_position(idx)
    order = np.argsort(x, kind="stable")
    x = x[order]
    text = [f"{v:.4f}" for v in p[idx][order].tolist()]
    # a run breaks where the next base is not adjacent or its printed value differs
    breaks = np.flatnonzero((np.diff(x) != 1) | (np.array(text[1:]) != np.array(text[:-1]))) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [x.size]])
    for a, b in zip(starts.tolist(), ends.tolist()):
        yield int(x[a]), int(x[b - 1]) + 1, text[a]


def bedgraph_text(items: list[Item], analyses: list[Analysis]) -> str:
    """The boundary probability of every base each stage sees, one bedGraph track per stage."""
    buf = io.StringIO()
    for s in range(analyses[0].num_stages):
        buf.write(f'track type=bedGraph name="hnet stage{s}" description="H-Net stage {s} boundary '
                  f'probability" viewLimits=0:1\n')
        buf.write(stage_bedgraph_text(items, analyses, s))
    return buf.getvalue()


def stage_bedgraph_text(items: list[Item], analyses: list[Analysis], stage: int) -> str:
    """One stage's bedGraph lines without a track line (what an indexed single-track file holds)."""
    buf = io.StringIO()
    for it, a in zip(items, analyses):
        for start, end, value in bedgraph_runs(it, a, stage):
            buf.write(f"{it.chrom}\t{start}\t{end}\t{value}\n")
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


def audacity_labels_text(item: Item, analysis: Analysis) -> str:
    """An Audacity label track (File > Import > Labels): one region label per chunk and stage."""
    sr = float(item.sample_rate or 1)
    buf = io.StringIO()
    for s in range(analysis.num_stages):
        starts, ends = analysis.chunk_bounds(s)
        for x, y, p in zip(starts.tolist(), ends.tolist(), analysis.chunk_probs(s).tolist()):
            buf.write(f"{x / sr:.6f}\t{y / sr:.6f}\tstage{s} p={p:.2f}\n")
    return buf.getvalue()


def textgrid_text(item: Item, analysis: Analysis) -> str:
    """A Praat TextGrid (long text format): one IntervalTier per stage, the chunks as intervals."""
    sr = float(item.sample_rate or 1)
    duration = item.length / sr
    tiers = []
    for s in range(analysis.num_stages):
        starts, ends = analysis.chunk_bounds(s)
        probs = analysis.chunk_probs(s).tolist()
        lines = ['        class = "IntervalTier"', f'        name = "stage{s}"', "        xmin = 0",
                 f"        xmax = {duration:.6f}", f"        intervals: size = {len(starts)}"]
        for k, (x, y, p) in enumerate(zip(starts.tolist(), ends.tolist(), probs), 1):
            lines += [f"        intervals [{k}]:", f"            xmin = {x / sr:.6f}",
                      f"            xmax = {y / sr:.6f}", f'            text = "p={p:.2f}"']
        tiers.append(f"    item [{s + 1}]:\n" + "\n".join(lines))
    head = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0",
            f"xmax = {duration:.6f}", "tiers? <exists>", f"size = {analysis.num_stages}", "item []:"]
    return "\n".join(head) + "\n" + "\n".join(tiers) + "\n"
