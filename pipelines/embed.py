"""`hnet-bio embed`: one vector per sequence, region or audio file (or per window), with metadata.

    hnet-bio embed --checkpoint CKPT (--fasta FILE [--bed FILE | --region R ...] | --audio FILES)
        --out FILE.npz|FILE.parquet [--level inner] [--pooling mean] [--per-window BYTES]

CKPT: a checkpoint directory, a run directory (its best), RUN@last|@STEP or a shipped model.
Levels and poolings are described in pipelines/features/embedding.py, the job in
pipelines/features/extraction.py. The .npz holds ``embeddings`` (N, D) float32 and one array per
metadata column: ``name`` (record, region label or file stem), ``chrom``, ``start``/``end``
(forward genome coordinates of the span, 0-based half-open; for audio, sample indices),
``strand``, ``window_start`` (offset of the span in the sequence as the model read it, 0 unless
--per-window), plus ``level``/``pooling``/``checkpoint`` scalars.
A .parquet file (needs pyarrow) has the same columns, the vector as a list column ``embedding``.
"""

from __future__ import annotations

import argparse
import sys

from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW
from pipelines.errors import UsageError
from pipelines.features.embedding import DEFAULT_LEVEL, DEFAULT_POOLING, POOLINGS
from pipelines.features.extraction import extract_embeddings
from pipelines.inputs import InputSpec, add_run_options, apply_threads
from pipelines.runs.resolve import CHECKPOINT_HELP


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("embed", help="pooled hidden-state vectors per sequence/region/file",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help=f"{CHECKPOINT_HELP} (H-Net or isotropic)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--fasta", nargs="+", metavar="FILE",
                     help="FASTA/GenBank/EMBL/GFF3+FASTA files (every record, or --region/--bed; a region "
                          "is read from the first file holding its record)")
    src.add_argument("--audio", nargs="+", metavar="FILE", help="audio files")
    p.add_argument("--region", action="append", default=[], metavar="R",
                   help="chr:start-end[:-] (repeatable)")
    p.add_argument("--bed", metavar="FILE", help="regions as BED")
    p.add_argument("--out", required=True, help="output .npz or .parquet")
    p.add_argument("--level", default=DEFAULT_LEVEL,
                   help="stage0, stage1, ... (encoders), inner (innermost network; default), decoder")
    p.add_argument("--pooling", default=DEFAULT_POOLING, choices=POOLINGS)
    p.add_argument("--per-window", type=int, default=None, metavar="BYTES",
                   help="one vector per tile of BYTES bytes instead of per sequence")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="bytes per model call")
    p.add_argument("--stride", type=int, default=DEFAULT_STRIDE, help="step between model calls")
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward (default: about 8 kB of windows, the fastest per byte on a CPU)")
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be >= 1")
    extract_embeddings(args.checkpoint, args.out, InputSpec.from_args(args), level=args.level,
                       pooling=args.pooling, per_window=args.per_window, window=args.window,
                       stride=args.stride, batch_size=args.batch_size, overwrite=args.overwrite,
                       log=None if args.quiet else sys.stderr, device=args.device)
    return 0
