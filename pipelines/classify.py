"""`hnet-bio classify`: a linear probe on H-Net embeddings next to the baselines a user would try.

    hnet-bio classify --task organism|coding|speech-music --checkpoint CKPT [--baseline-checkpoint CKPT]
        --out results.json            (also writes results.md)
    hnet-bio classify --labels FILE.tsv (--fasta FILE | audio paths in the TSV) --checkpoint CKPT --out r.json

CKPT: a checkpoint directory, a run directory (its best), RUN@last|@STEP or a shipped model.

Rows of the table (each the same probe, pipelines/features/probe.py; the job is
pipelines/features/classification.py):
- the checkpoint's embeddings (``--level``, ``--pooling``; pipelines/features/embedding.py);
- for an H-Net, stage-0 states averaged over its learned chunks vs over a fixed grid with the
  same number of chunks (do the learned cut points matter?);
- the same architecture with random weights (``--no-random-init`` drops it): what the probe gets
  from the architecture alone;
- ``--baseline-checkpoint``: the isotropic baseline's embeddings (same level name and pooling);
- DNA: GC content, and k-mer frequencies with k in 1..6 chosen by CV on the training set;
  audio: log-mel statistics.
Then paired gaps on the same test examples, with paired bootstrap intervals: each trained row
minus its random-weights row, learned chunks minus the fixed grid, and the embeddings minus the
isotropic baseline and minus k-mers (log-mel statistics for audio).
The labels file has one example per line: ``sequence<TAB>label[<TAB>train|test]``, where a
sequence is a record name or region (``chr:start-end[:-]``) of --fasta, or an audio file path
(relative to the TSV). Without a split column, metrics are out-of-fold over 5-fold CV.
"""

from __future__ import annotations

import argparse
import sys

from pipelines.errors import UsageError
from pipelines.features.classification import KMER_MAX, classify
from pipelines.features.embedding import DEFAULT_LEVEL, DEFAULT_POOLING, POOLINGS
from pipelines.features.probe import BOOTSTRAP
from pipelines.features.tasks import TASKS
from pipelines.inputs import add_run_options, apply_threads
from pipelines.runs.resolve import CHECKPOINT_HELP


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("classify", help="linear probe on embeddings vs baselines (JSON + Markdown)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help=CHECKPOINT_HELP)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--task", help=f"built-in task: {', '.join(TASKS)}")
    src.add_argument("--labels", metavar="FILE.tsv", help="sequence<TAB>label[<TAB>train|test] per line")
    p.add_argument("--fasta", nargs="+", metavar="FILE",
                   help="with --labels on DNA: the files the sequences/regions come from (the first file "
                        "holding a record)")
    p.add_argument("--baseline-checkpoint", metavar="CKPT",
                   help=f"isotropic baseline, probed the same way: {CHECKPOINT_HELP}")
    p.add_argument("--level", default=DEFAULT_LEVEL, help="hidden level (default inner)")
    p.add_argument("--pooling", default=DEFAULT_POOLING, choices=POOLINGS)
    p.add_argument("--no-random-init", action="store_true", help="skip the random-weights control")
    p.add_argument("--n-train", type=int, default=None, help="training windows per class (built-in tasks)")
    p.add_argument("--n-test", type=int, default=None, help="test windows per class (built-in tasks)")
    p.add_argument("--kmer-max", type=int, default=KMER_MAX, help="k-mer baseline: k in 1..K (default 6)")
    p.add_argument("--bootstrap", type=int, default=BOOTSTRAP, help="bootstrap resamples for the CIs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward (default: about 8 kB of windows, the fastest per byte on a CPU)")
    p.add_argument("--out", required=True, help="results .json (a .md table is written beside it)")
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if not 1 <= args.kmer_max <= 8 or args.bootstrap < 10:
        raise UsageError("--kmer-max must be in 1..8 and --bootstrap >= 10")
    for name in ("n_train", "n_test"):
        if getattr(args, name) is not None and getattr(args, name) < 2:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 2")
    classify(args.out, args.checkpoint, task=args.task, labels=args.labels, fasta=args.fasta,
             baseline_checkpoint=args.baseline_checkpoint, level=args.level, pooling=args.pooling,
             random_init=not args.no_random_init, n_train=args.n_train, n_test=args.n_test,
             seed=args.seed, batch_size=args.batch_size, kmer_max=args.kmer_max,
             bootstrap=args.bootstrap, overwrite=args.overwrite, log=None if args.quiet else sys.stderr,
             device=args.device)
    return 0
