"""`hnet-bio score`: zero-shot log-likelihoods of sequences, variants and every possible SNV.

    hnet-bio score --checkpoint CKPT --fasta FILE [--region R ... | --bed FILE] --out OUT.tsv
        [--track LL.bedgraph] [--entropy-track H.bedgraph]
    hnet-bio score --checkpoint CKPT --fasta REF --vcf IN.vcf[.gz] --out OUT.vcf[.gz] [--flank 63]
    hnet-bio score --checkpoint CKPT --fasta REF --ism chr:start-end --out OUT.tsv

Sequences: total and per-base log-likelihood (bits) on the forward strand, the reverse complement
and their mean, as OUT.tsv and OUT.json; --track/--entropy-track write per-base bedGraph files.
Variants: delta log-likelihood ALT - REF (bits) over a window of --flank bases either side of the
variant, both strands; OUT.vcf keeps every record and adds INFO HNET_DLL (strand mean),
HNET_DLL_FWD, HNET_DLL_RC and HNET_STATUS per ALT; OUT.tsv (same stem) has one line per ALT.
ISM (at most 1,000 bases): every base x the 3 other bases, as OUT.tsv and a heatmap OUT.png.
CKPT: a checkpoint directory, a run directory (its best), RUN@last|@STEP or a shipped model.
Details and the window rule: docs/scoring.md.
"""

from __future__ import annotations

import argparse
import sys

from pipelines.inputs import InputSpec, add_run_options, apply_threads
from pipelines.runs.resolve import CHECKPOINT_HELP
from pipelines.scoring.job import ScoreRequest, run_score
from pipelines.scoring.windows import DEFAULT_FLANK


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score",
        help="log-likelihoods of sequences, VCF variant effects, ISM",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help=f"{CHECKPOINT_HELP} (a DNA model)")
    p.add_argument(
        "--fasta",
        required=True,
        metavar="FILE",
        help="sequences to score, or the reference of --vcf/--ism (FASTA/GenBank/GFF3+FASTA)",
    )
    p.add_argument(
        "--region", action="append", default=[], metavar="R", help="chr:start-end[:-] (repeatable)"
    )
    p.add_argument("--bed", metavar="FILE", help="regions as BED")
    p.add_argument("--vcf", metavar="FILE", help="variants to score (VCF: plain, bgzipped or gzipped)")
    p.add_argument("--ism", metavar="REGION", help="saturation mutagenesis of chr:start-end (<= 1,000 bases)")
    p.add_argument("--out", required=True, help="OUT.tsv (sequences, --ism) or OUT.vcf[.gz] (--vcf)")
    p.add_argument("--track", metavar="FILE", help="bedGraph of log2 p per base (sequences)")
    p.add_argument(
        "--entropy-track", metavar="FILE", help="bedGraph of predictive entropy per base (sequences)"
    )
    p.add_argument(
        "--flank",
        type=int,
        default=DEFAULT_FLANK,
        help=f"bases either side of a variant in its window (default {DEFAULT_FLANK})",
    )
    p.add_argument(
        "--window",
        type=int,
        default=None,
        help="bytes per model call for sequences (default: the model's training length)",
    )
    p.add_argument("--batch-size", type=int, default=64, help="rows per model call")
    p.add_argument(
        "--reuse-prefix",
        action="store_true",
        help="prefill each variant's upstream flank once and step the rest (same numbers)",
    )
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    req = ScoreRequest(
        args.checkpoint,
        InputSpec(args.fasta, args.region, args.bed),
        args.out,
        vcf=args.vcf,
        ism=args.ism,
        track=args.track,
        entropy_track=args.entropy_track,
        flank=args.flank,
        window=args.window,
        batch_size=args.batch_size,
        reuse_prefix=args.reuse_prefix,
        overwrite=args.overwrite,
    )
    summary = run_score(req, log=None if args.quiet else sys.stderr)
    if not args.quiet:
        for line in summary.lines:
            print(line, file=sys.stderr)
        print("wrote " + ", ".join(summary.outputs), file=sys.stderr)
    return 0
