"""What ``hnet-bio boundaries`` does: analyse the input with a checkpoint, add the controls the
annotation statistics compare against, and write every output file.

Outputs (formats in `boundary_files`, chosen by name in `boundary_outputs`, indexed and binary
forms in `track_files`): the chunks (BED or bgzipped+tabixed BED for DNA, CSV and optionally an
Audacity label track / Praat TextGrid for audio), optionally the per-byte probabilities (bedGraph,
bgzip + tabix, bigWig / CSV), and with annotations the CDS statistics
(`boundary_stats`) as OUT.cds.json, OUT.cds.md and OUT.metaplot.png beside ``out``. Every option
is checked and every output path refused (exists, no such directory) before the model runs; all
files are written after the analysis finishes, each atomically.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from hnet_bio.atomic import atomic_write_text
from hnet_bio.config import HNetConfig
from hnet_bio.lm import HNetLM, build_model
from modalities.annotations import Feature, read_annotations
from modalities.regions import read_bed
from pipelines.analysis.boundary_outputs import plan_outputs
from pipelines.analysis.boundary_stats import (
    MODEL,
    AnnotationStats,
    annotation_stats,
    markdown_table,
    plot_metaplot,
)
from pipelines.analysis.chunk_summary import StageSummary, summarize, summary_text
from pipelines.analysis.progress import ProgressBar
from pipelines.analysis.result import Analysis
from pipelines.analysis.run import analyze_many, num_stages
from pipelines.analysis.track_files import compound_suffix
from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW
from pipelines.errors import UsageError
from pipelines.inputs import InputSpec, Item, check_outputs, load_model_for, read_items, unique_names

RANDOM_INIT = "random-init"  # the segmentation of the same architecture with random weights


@dataclass
class BoundariesResult:
    """What the job analysed and wrote: per item its analysis, the files, the per-stage summary and
    (with annotations) the CDS statistics."""

    items: list[Item]
    analyses: list[Analysis]
    outputs: list[Path]
    summary: list[StageSummary]
    stats: AnnotationStats | None = None


def stats_paths(out: Path) -> tuple[Path, Path, Path]:
    """Where --annotations writes: OUT.cds.json, OUT.cds.md, OUT.metaplot.png (beside --out)."""
    stem = out.with_name(out.name[: len(out.name) - len(compound_suffix(out))])
    return Path(f"{stem}.cds.json"), Path(f"{stem}.cds.md"), Path(f"{stem}.metaplot.png")


def export_boundaries(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    inputs: InputSpec,
    probs: str | os.PathLike[str] | None = None,
    annotations: str | None = None,
    own_annotations: bool = False,
    random_init_control: bool = False,
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    batch_size: int | None = None,
    flank: int = 150,
    seed: int = 0,
    overwrite: bool = False,
    log: TextIO | None = None,
    device: str | torch.device | None = "cpu",
    audacity: str | os.PathLike[str] | None = None,
    textgrid: str | os.PathLike[str] | None = None,
) -> BoundariesResult:
    """Analyse the input with `checkpoint` (any form `pipelines.runs.resolve` takes) and write its
    chunks, and the optional probability track and CDS statistics."""
    modality = inputs.modality
    out = Path(out)
    want_stats = annotations is not None or own_annotations
    if window < 1 or not 1 <= stride <= window:
        raise UsageError(f"need 1 <= --stride <= --window, got window {window}, stride {stride}")
    model, meta = load_model_for(checkpoint, modality, device)
    if not isinstance(model, HNetLM):
        raise UsageError(f"{checkpoint}: an isotropic model has no boundaries")
    _check_options_fit(modality, want_stats, random_init_control)
    plan = plan_outputs(modality, out, probs, num_stages(model), audacity, textgrid,
                        tuple(unique_names(inputs.audio)))
    check_outputs([*plan.paths(), *(stats_paths(out) if want_stats else ())], overwrite)
    items = read_items(meta, inputs)
    plan.check_items(items)
    features = _cds_features(annotations, inputs.fasta_files, own_annotations, items) if want_stats else []

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
                                                         batch_size, seed, _device_of(model))
        stats = annotation_stats(items, marks, features, flank=flank, seed=seed)
        stats = dataclasses.replace(stats, checkpoint=str(checkpoint))
    written = plan.write(items, analyses) + _write_stats(out, stats)
    if log is not None:
        log.write(summary_text(summary))
        if stats is not None:
            log.write(markdown_table(stats) + "\n")
    return BoundariesResult(items, analyses, written, summary, stats)


def _check_options_fit(modality: str, want_stats: bool, random_init: bool) -> None:
    """The options that only make sense for one modality (output names: `boundary_outputs`)."""
    if random_init and not want_stats:
        raise UsageError("--random-init-control is a control for --annotations statistics")
    if want_stats and modality != "dna":
        raise UsageError("--annotations applies to DNA input")


def _write_stats(out: Path, stats: AnnotationStats | None) -> list[Path]:
    """The statistics files (JSON, Markdown, PNG), each atomically; none without statistics."""
    if stats is None:
        return []
    js, md, png = stats_paths(out)
    atomic_write_text(js, json.dumps(stats.to_json(), indent=1) + "\n")
    atomic_write_text(md, markdown_table(stats) + "\n")
    plot_metaplot(stats, str(png))
    return [js, md, png]


def _cds_features(annotations: str | None, fasta: list[str], own: bool, items: list[Item]) -> list[Feature]:
    """The CDS to compare against: from GFF3/GenBank/BED, or the input files' own annotations."""
    sources = fasta if own else [annotations] if annotations is not None else []
    feats: list[Feature] = []
    for source in sources:
        if Path(source).suffix.lower() == ".bed":
            feats += [Feature(r.chrom, r.start0, r.end0 or r.start0, r.strand, "CDS", r.name)
                      for r in read_bed(source)]
        else:
            feats += read_annotations(source, types=("CDS",))
    chroms = {it.chrom for it in items}
    if not any(f.record in chroms for f in feats):
        shown = ", ".join(sorted(chroms)[:3])
        raise UsageError(f"{', '.join(sources)}: no CDS on the analysed records ({shown})")
    return feats


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _random_init_boundaries(
    config: HNetConfig, items: list[Item], window: int, stride: int, batch_size: int | None, seed: int,
    device: torch.device | None = None,
) -> list[np.ndarray]:
    """Boundaries of the same architecture with random weights (seeded on the CPU, so the control is
    the same on any device): the no-learning control."""
    torch.manual_seed(seed)
    control = build_model(config).to(device or torch.device("cpu"))
    return [a.boundary for a in analyze_many(control, [it.data for it in items], window=window,
                                              stride=stride, batch_size=batch_size)]
