"""`hnet-bio boundaries`: where a checkpoint cuts a genome or a sound, as files other tools read.

DNA -> BED, 0-based half-open, one line per chunk per stage:
``chrom  start  end  stage<s>  score  strand`` with score = round(1000 x the boundary probability at
the chunk's first byte, in the model's reading direction). Records keep their names; regions keep
genome coordinates; a reverse-strand region (``chr:a-b:-``, BED strand ``-``) is read as its
reverse complement by the model and reported in forward coordinates with ``-`` in the strand
column (a chunk's first base in reading order is then its interval's *last* base).
``--out FILE.bed.gz``: the same lines sorted, bgzipped, with a tabix index (FILE.bed.gz.tbi).
``--probs FILE.bedgraph``: the per-base probability, one bedGraph track per stage (stage s >= 1
only at the bases it sees: chunk starts of stage s - 1), equal neighbouring values merged into one
line; ``.bedgraph.gz`` (bgzip + tabix) and ``.bw`` (bigWig, needs pyBigWig) hold one stage per
file: stage 0 at FILE, stage s at FILE with ``.stage<s>`` before the suffix.
Audio -> CSV ``file,stage,start_s,end_s,probability`` (seconds at the checkpoint's sample rate; file
is the input's name: its stem, with parent folders when two stems collide);
``--probs FILE.csv`` gives ``file,stage,time_s,probability`` per sample; ``--audacity FILE.txt`` and
``--textgrid FILE.TextGrid`` add an Audacity label track and a Praat TextGrid per input.
``--annotations FILE`` (GFF3, GenBank/EMBL or BED; no FILE: the input's own GenBank/GFF3
features) adds CDS statistics next to fixed-grid and random controls (pipelines/analysis/boundary_stats.py):
JSON, a Markdown table and a metaplot PNG beside --out. All outputs are written after the analysis
finishes, each atomically (pipelines/analysis/boundary_export.py).
"""

from __future__ import annotations

import argparse
import sys

from pipelines.analysis.boundary_export import export_boundaries
from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW
from pipelines.errors import UsageError
from pipelines.inputs import InputSpec, add_run_options, apply_threads
from pipelines.runs.resolve import CHECKPOINT_HELP


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("boundaries", help="write a checkpoint's chunk boundaries (BED / CSV)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help=f"{CHECKPOINT_HELP} (an H-Net)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--fasta", nargs="+", metavar="FILE",
                     help="FASTA/GenBank/EMBL/GFF3+FASTA files (every record, or --region/--bed; a region "
                          "is read from the first file holding its record)")
    src.add_argument("--audio", nargs="+", metavar="FILE", help="audio files (WAV/FLAC/...)")
    p.add_argument("--region", action="append", default=[], metavar="R",
                   help="chr:start-end[:-] (1-based inclusive; repeatable)")
    p.add_argument("--bed", metavar="FILE", help="regions as BED (0-based half-open, strand column honoured)")
    p.add_argument("--out", required=True,
                   help="output .bed or .bed.gz (DNA; .gz: bgzip + tabix index) or .csv (audio)")
    p.add_argument("--probs", metavar="FILE",
                   help="per-byte probabilities: .bedgraph, .bedgraph.gz (bgzip + tabix) or .bw (bigWig) "
                        "for DNA, .csv for audio")
    p.add_argument("--audacity", metavar="FILE.txt", help="audio: also an Audacity label track per input")
    p.add_argument("--textgrid", metavar="FILE.TextGrid", help="audio: also a Praat TextGrid per input")
    p.add_argument("--annotations", nargs="?", const="", metavar="FILE",
                   help="CDS statistics against GFF3/GenBank/BED annotations (no FILE: the input's own)")
    p.add_argument("--random-init-control", action="store_true",
                   help="with --annotations: also the same architecture with random weights")
    p.add_argument("--flank", type=int, default=150, help="metaplot half-width in bp (default 150)")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW,
                   help=f"bytes per model call ({DEFAULT_WINDOW})")
    p.add_argument("--stride", type=int, default=DEFAULT_STRIDE,
                   help=f"step between windows ({DEFAULT_STRIDE}); left context = window - stride")
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward (default: about 8 kB of windows, the fastest per byte on a CPU)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random controls")
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if (args.batch_size is not None and args.batch_size < 1) or args.flank < 1:
        raise UsageError("--batch-size and --flank must be >= 1")
    own = args.annotations == ""
    export_boundaries(
        args.checkpoint, args.out, InputSpec.from_args(args),
        probs=args.probs, annotations=None if own else args.annotations, own_annotations=own,
        random_init_control=args.random_init_control, window=args.window, stride=args.stride,
        batch_size=args.batch_size, flank=args.flank, seed=args.seed, overwrite=args.overwrite,
        log=None if args.quiet else sys.stderr, device=args.device, audacity=args.audacity,
        textgrid=args.textgrid,
    )
    return 0
