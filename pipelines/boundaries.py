"""`hnet-bio boundaries`: where a checkpoint cuts a genome or a sound, as files other tools read.

DNA -> BED, 0-based half-open, one line per chunk per stage:
``chrom  start  end  stage<s>  score  strand`` with score = round(1000 x the boundary probability at
the chunk's first byte, in the model's reading direction). Records keep their names; regions keep
genome coordinates; a reverse-strand region (``chr:a-b:-``, BED strand ``-``) is read as its
reverse complement by the model and reported in forward coordinates with ``-`` in the strand
column (a chunk's first base in reading order is then its interval's *last* base).
``--probs FILE.bedgraph``: the per-base probability, one bedGraph track per stage (stage s >= 1
only at the bases it sees: chunk starts of stage s - 1).
Audio -> CSV ``file,stage,start_s,end_s,probability`` (seconds at the checkpoint's sample rate);
``--probs FILE.csv`` gives ``file,stage,time_s,probability`` per sample.
``--annotations FILE`` (GFF3, GenBank/EMBL or BED; no FILE: the input's own GenBank/GFF3
features) adds CDS statistics next to fixed-grid and random controls (pipelines/analysis/boundary_stats.py):
JSON, a Markdown table and a metaplot PNG beside --out. All outputs are written after the analysis
finishes, each atomically.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from hnet_bio.atomic import atomic_write_text
from hnet_bio.config import HNetConfig
from hnet_bio.lm import HNetLM, build_model
from modalities.annotations import Feature, read_annotations
from modalities.regions import read_bed
from pipelines.analysis import DEFAULT_STRIDE, DEFAULT_WINDOW, Analysis, ProgressBar, analyze_many
from pipelines.analysis.boundary_stats import MODEL, annotation_stats, markdown_table, plot_metaplot
from pipelines.errors import UsageError
from pipelines.inputs import (
    InputSpec,
    Item,
    add_run_options,
    apply_threads,
    check_outputs,
    load_model_for,
    read_items,
)

RANDOM_INIT = "random-init"


@dataclass
class BoundariesResult:
    items: list[Item]
    analyses: list[Analysis]
    outputs: list[Path]
    summary: list[dict]  # per stage: chunks, mean/median bytes per chunk, target
    stats: dict | None = None  # annotation statistics (see boundary_stats.annotation_stats)
    extra: dict = field(default_factory=dict)


def stats_paths(out: Path) -> tuple[Path, Path, Path]:
    """Where --annotations writes: OUT.cds.json, OUT.cds.md, OUT.metaplot.png (beside --out)."""
    stem = out.with_suffix("")
    return Path(f"{stem}.cds.json"), Path(f"{stem}.cds.md"), Path(f"{stem}.metaplot.png")


def boundaries_job(
    checkpoint: str | Path,
    out: str | Path,
    inputs: InputSpec,
    probs: str | Path | None = None,
    annotations: str | None = None,
    own_annotations: bool = False,
    random_init_control: bool = False,
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    batch_size: int = 8,
    flank: int = 150,
    seed: int = 0,
    overwrite: bool = False,
    log: TextIO | None = None,
) -> BoundariesResult:
    """Analyse the input with `checkpoint` and write its chunks (and optional tracks and statistics)."""
    modality = inputs.modality
    out = Path(out)
    want_stats = annotations is not None or own_annotations
    if window < 1 or not 1 <= stride <= window:
        raise UsageError(f"need 1 <= --stride <= --window, got window {window}, stride {stride}")
    model, meta = load_model_for(checkpoint, modality)
    if not isinstance(model, HNetLM):
        raise UsageError(f"{checkpoint}: an isotropic model has no boundaries")
    if modality == "dna" and out.suffix.lower() != ".bed":
        raise UsageError("DNA boundaries are written as BED: --out must end in .bed")
    if modality == "audio" and out.suffix.lower() != ".csv":
        raise UsageError("audio boundaries are written as CSV: --out must end in .csv")
    if probs is not None and Path(probs).suffix.lower() != (".bedgraph" if modality == "dna" else ".csv"):
        raise UsageError(f"--probs must end in {'.bedgraph' if modality == 'dna' else '.csv'}")
    if random_init_control and not want_stats:
        raise UsageError("--random-init-control is a control for --annotations statistics")
    if want_stats and modality != "dna":
        raise UsageError("--annotations applies to DNA input")
    outputs = [out, probs, *(stats_paths(out) if want_stats else ())]
    check_outputs(outputs, overwrite)
    items = read_items(meta, inputs)
    features = _features(annotations, inputs.fasta, own_annotations, items) if want_stats else []

    bar = ProgressBar("boundaries", log) if log is not None else None
    analyses = list(analyze_many(model, [it.data for it in items], window=window, stride=stride,
                                 batch_size=batch_size, progress=bar))
    if bar is not None:
        bar.close()
    summary = summarize(analyses, model.config.target_ratios(), items[0].sample_rate)
    stats = None
    if want_stats:
        marks = {MODEL: [a.boundary for a in analyses]}
        if random_init_control:
            marks[RANDOM_INIT] = _random_init_boundaries(model.config, items, window, stride,
                                                         batch_size, seed)
        stats = annotation_stats(items, marks, features, flank=flank, seed=seed)

    text = bed_text(items, analyses) if modality == "dna" else csv_text(items, analyses)
    atomic_write_text(out, text)
    written = [out]
    if probs is not None:
        atomic_write_text(probs, bedgraph_text(items, analyses) if modality == "dna"
                          else probs_csv_text(items, analyses))
        written.append(Path(probs))
    if stats is not None:
        js, md, png = stats_paths(out)
        stats["checkpoint"] = str(checkpoint)
        atomic_write_text(js, json.dumps(stats, indent=1) + "\n")
        atomic_write_text(md, markdown_table(stats) + "\n")
        plot_metaplot(stats, str(png))
        written += [js, md, png]
    if log is not None:
        log.write(summary_text(summary, items[0].sample_rate))
        if stats is not None:
            log.write(markdown_table(stats) + "\n")
    return BoundariesResult(items, analyses, written, summary, stats)


def _features(annotations: str | None, fasta: str | None, own: bool, items: list[Item]) -> list[Feature]:
    source = fasta if own else annotations
    assert source is not None
    if Path(source).suffix.lower() == ".bed":
        feats = [Feature(r.chrom, r.start0, r.end0 or r.start0, r.strand, "CDS", r.name)
                 for r in read_bed(source)]
    else:
        feats = read_annotations(source, types=("CDS",))
    chroms = {it.chrom for it in items}
    if not any(f.record in chroms for f in feats):
        raise UsageError(f"{source}: no CDS on the analysed records ({', '.join(sorted(chroms)[:3])})")
    return feats


def _random_init_boundaries(
    config: HNetConfig, items: list[Item], window: int, stride: int, batch_size: int, seed: int
) -> list[np.ndarray]:
    """Boundaries of the same architecture with random weights (seeded): the no-learning control."""
    torch.manual_seed(seed)
    control = build_model(config)
    return [a.boundary for a in analyze_many(control, [it.data for it in items], window=window,
                                              stride=stride, batch_size=batch_size)]


def summarize(analyses: list[Analysis], ratios: list[float], sample_rate: int | None) -> list[dict]:
    """Per stage over all sequences: chunks, mean and median bytes per chunk, the training target."""
    rows = []
    for s in range(len(ratios)):
        lengths = np.concatenate([np.subtract(*a.chunk_bounds(s)[::-1]) for a in analyses])
        total = sum(a.length for a in analyses)
        rows.append({"stage": s, "chunks": int(lengths.size), "mean_bytes": total / max(lengths.size, 1),
                     "median_bytes": float(np.median(lengths)) if lengths.size else 0.0,
                     "target_bytes": float(np.prod(ratios[: s + 1])), "sample_rate": sample_rate})
    return rows


def summary_text(summary: list[dict], sample_rate: int | None) -> str:
    lines = []
    for r in summary:
        if sample_rate:
            ms = 1000.0 / sample_rate
            lines.append(f"stage {r['stage']}: {r['chunks']:,} chunks, mean {r['mean_bytes'] * ms:.2f} ms, "
                         f"median {r['median_bytes'] * ms:.2f} ms per chunk "
                         f"(target {r['target_bytes'] * ms:.2f} ms)")
        else:
            lines.append(f"stage {r['stage']}: {r['chunks']:,} chunks, mean {r['mean_bytes']:.2f}, "
                         f"median {r['median_bytes']:.1f} bytes per chunk (target {r['target_bytes']:.1f})")
    return "\n".join(lines) + "\n"


def bed_text(items: list[Item], analyses: list[Analysis]) -> str:
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
    def chunks(a: Analysis, s: int, sr: float) -> Iterator[str]:
        starts, ends = a.chunk_bounds(s)
        for x, y, p in zip(starts.tolist(), ends.tolist(), a.chunk_probs(s).tolist()):
            yield f"{x / sr:.6f},{y / sr:.6f},{p:.4f}"

    return _per_stage_csv("file,stage,start_s,end_s,probability\n", items, analyses, chunks)


def probs_csv_text(items: list[Item], analyses: list[Analysis]) -> str:
    def probs(a: Analysis, s: int, sr: float) -> Iterator[str]:
        p = a.boundary_prob[s]
        for i in np.flatnonzero(~np.isnan(p)).tolist():
            yield f"{i / sr:.6f},{p[i]:.4f}"

    return _per_stage_csv("file,stage,time_s,probability\n", items, analyses, probs)


def _csv_field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("boundaries", help="write a checkpoint's chunk boundaries (BED / CSV)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint directory (an H-Net)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--fasta", metavar="FILE",
                     help="FASTA/GenBank/EMBL/GFF3+FASTA (every record, or --region/--bed)")
    src.add_argument("--audio", nargs="+", metavar="FILE", help="audio files (WAV/FLAC/...)")
    p.add_argument("--region", action="append", default=[], metavar="R",
                   help="chr:start-end[:-] (1-based inclusive; repeatable)")
    p.add_argument("--bed", metavar="FILE", help="regions as BED (0-based half-open, strand column honoured)")
    p.add_argument("--out", required=True, help="output .bed (DNA) or .csv (audio)")
    p.add_argument("--probs", metavar="FILE", help="per-byte probabilities: .bedgraph (DNA) or .csv (audio)")
    p.add_argument("--annotations", nargs="?", const="", metavar="FILE",
                   help="CDS statistics against GFF3/GenBank/BED annotations (no FILE: the input's own)")
    p.add_argument("--random-init-control", action="store_true",
                   help="with --annotations: also the same architecture with random weights")
    p.add_argument("--flank", type=int, default=150, help="metaplot half-width in bp (default 150)")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW,
                   help=f"bytes per model call ({DEFAULT_WINDOW})")
    p.add_argument("--stride", type=int, default=DEFAULT_STRIDE,
                   help=f"step between windows ({DEFAULT_STRIDE}); left context = window - stride")
    p.add_argument("--batch-size", type=int, default=8, help="windows per forward")
    p.add_argument("--seed", type=int, default=0, help="seed of the random controls")
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if args.batch_size < 1 or args.flank < 1:
        raise UsageError("--batch-size and --flank must be >= 1")
    own = args.annotations == ""
    boundaries_job(
        args.checkpoint, args.out, InputSpec.from_args(args),
        probs=args.probs, annotations=None if own else args.annotations, own_annotations=own,
        random_init_control=args.random_init_control, window=args.window, stride=args.stride,
        batch_size=args.batch_size, flank=args.flank, seed=args.seed, overwrite=args.overwrite,
        log=None if args.quiet else sys.stderr,
    )
    return 0
