"""What `hnet-bio score` runs: one request, three modes (sequences, a VCF, an ISM region).

`run_score` loads the checkpoint (DNA only), reads the inputs, checks the outputs before any
work, scores, writes every output atomically and returns a `ScoreSummary` whose lines the job
prints.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hnet_bio.atomic import atomic_write_text
from modalities.regions import parse_region
from pipelines.errors import UsageError
from pipelines.inputs import InputSpec, Item, check_outputs, load_model_for, read_items
from pipelines.scoring.ism import MAX_ISM, heatmap_png, saturation_mutagenesis
from pipelines.scoring.likelihood import Model
from pipelines.scoring.sequences import score_items, sequences_tsv
from pipelines.scoring.tracks import bedgraph_text
from pipelines.scoring.variant_files import read_genome, score_vcf, tsv_path
from pipelines.scoring.windows import DEFAULT_FLANK


@dataclass(frozen=True)
class ScoreRequest:
    """Everything `score` was asked for. Exactly one of: ``vcf`` set (variants), ``ism`` set
    (mutagenesis), neither (sequences of ``inputs``)."""

    checkpoint: str
    inputs: InputSpec
    out: str
    vcf: str | None = None
    ism: str | None = None
    track: str | None = None  # bedGraph of log2 p per base (sequence mode)
    entropy_track: str | None = None  # bedGraph of predictive entropy per base (sequence mode)
    flank: int = DEFAULT_FLANK
    window: int | None = None  # sequence mode; None = the checkpoint's training length (or 1024)
    batch_size: int = 64
    reuse_prefix: bool = False
    overwrite: bool = False


@dataclass
class ScoreSummary:
    lines: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def run_score(req: ScoreRequest, log: TextIO | None = None) -> ScoreSummary:
    """Check, load, score and write (see the module docstring)."""
    if req.vcf is not None and req.ism is not None:
        raise UsageError("give --vcf or --ism, not both")
    if req.flank < 1 or req.batch_size < 1:
        raise UsageError("--flank and --batch-size must be >= 1")
    if req.inputs.fasta is None:
        raise UsageError("score reads DNA: give --fasta FILE")
    if (req.vcf or req.ism) and (req.inputs.regions or req.inputs.bed or req.track or req.entropy_track):
        raise UsageError("--region/--bed/--track/--entropy-track go with sequence scoring, not --vcf/--ism")
    model, meta = load_model_for(req.checkpoint, "dna")
    if req.vcf is not None:
        return _vcf(model, req, meta.soft_mask, log)
    if req.ism is not None:
        return _ism(model, req, meta.soft_mask, log)
    window = req.window or meta.seq_len or 1024
    return _sequences(model, req, window, read_items(meta, req.inputs), log)


class SiteProgress:
    """``progress(done, total)`` for variant sites: live on a terminal, one closing line with the rate."""

    def __init__(self, label: str, stream: TextIO | None) -> None:
        self.label, self.stream = label, stream
        self.start, self.done = time.perf_counter(), 0

    def __call__(self, done: int, total: int) -> None:
        self.done = done
        if self.stream is not None and getattr(self.stream, "isatty", lambda: False)():
            self.stream.write(f"\r{self.label}: {done:,} / {total:,}")
            self.stream.flush()

    def close(self) -> str:
        dt = time.perf_counter() - self.start
        return f"{self.done:,} {self.label} in {dt:.1f} s ({self.done / max(dt, 1e-9):.1f}/s)"


def _sequences(
    model: Model, req: ScoreRequest, window: int, items: list[Item], log: TextIO | None
) -> ScoreSummary:
    json_path = Path(req.out).with_suffix(".json")
    outs = [req.out, str(json_path), req.track, req.entropy_track]
    check_outputs(outs, req.overwrite)
    scored = score_items(
        model, items, window, max(1, window * 3 // 4), batch_size=max(1, req.batch_size // 8)
    )
    scores = [s.score for s in scored]
    atomic_write_text(req.out, sequences_tsv(scores))
    atomic_write_text(
        json_path,
        json.dumps(
            {"checkpoint": req.checkpoint, "window": window, "sequences": [s.to_json() for s in scores]},
            indent=2,
        )
        + "\n",
    )
    if req.track:
        atomic_write_text(req.track, bedgraph_text(scored, "log_prob", req.checkpoint))
    if req.entropy_track:
        atomic_write_text(req.entropy_track, bedgraph_text(scored, "entropy", req.checkpoint))
    lines = [
        f"{s.name}: {s.length} bases, {s.per_base(s.ll_mean):.4f} bits/base (fwd "
        f"{s.per_base(s.ll_fwd):.4f}, rc {s.per_base(s.ll_rc):.4f})"
        for s in scores
    ]
    return ScoreSummary(lines, [str(o) for o in outs if o])


def _vcf(model: Model, req: ScoreRequest, soft_mask: bool, log: TextIO | None) -> ScoreSummary:
    assert req.vcf is not None and req.inputs.fasta is not None
    if not req.out.endswith((".vcf", ".vcf.gz", ".vcf.bgz")):
        raise UsageError(f"{req.out}: with --vcf, --out names a .vcf or .vcf.gz file")
    check_outputs([req.out, tsv_path(req.out)], req.overwrite)
    genome = read_genome(req.inputs.fasta, soft_mask)
    bar = SiteProgress("variant sites", log)
    res = score_vcf(model, genome, req.vcf, req.out, req.flank, req.batch_size, req.reuse_prefix, bar)
    lines = [res.summary(), bar.close()]
    if res.ref_mismatches:
        lines.append(f"warning: {res.ref_mismatches} REF alleles disagree with {req.inputs.fasta}")
    return ScoreSummary(lines, [req.out, str(tsv_path(req.out))])


def _ism(model: Model, req: ScoreRequest, soft_mask: bool, log: TextIO | None) -> ScoreSummary:
    assert req.ism is not None and req.inputs.fasta is not None
    reg = parse_region(req.ism)
    png = Path(req.out).with_suffix(".png")
    check_outputs([req.out, png], req.overwrite)
    genome = read_genome(req.inputs.fasta, soft_mask)
    if reg.chrom not in genome:
        raise UsageError(f"--ism {req.ism}: no record {reg.chrom!r} in {req.inputs.fasta}")
    start, end = reg.resolve(genome[reg.chrom].size, req.inputs.fasta)
    if not 0 < end - start <= MAX_ISM:
        raise UsageError(f"--ism {req.ism}: a region of 1..{MAX_ISM} bases, not {end - start}")
    bar = SiteProgress("ISM positions", log)
    res = saturation_mutagenesis(
        model, genome, reg.chrom, start, end, req.flank, req.batch_size, req.reuse_prefix, bar
    )
    atomic_write_text(req.out, res.tsv())
    heatmap_png(res, str(png))
    unscored = sum(s != "ok" for s in res.statuses)
    lines = [
        f"ISM {req.ism}: {end - start} positions x 3 mutants"
        + (
            f", {unscored} positions not scored (too near an end for --flank {req.flank})" if unscored else ""
        ),
        bar.close(),
    ]
    return ScoreSummary(lines, [req.out, str(png)])
