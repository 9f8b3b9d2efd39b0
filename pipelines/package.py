"""`hnet-bio package`: turn a pretraining run into a shipped model with a measured model card.

One command does the whole job, so the shipped numbers are always those of the shipped weights
(`pipelines.packaging.packager`): bf16 weights of the chosen checkpoint, held-out bits/byte and
bytes per chunk measured on them (the corpus's held-out split; for DNA also a genus absent from
training), the classical anchors on the same bytes, the card rendered from those numbers, and the
regression slice's expected numbers for the test (docs/models.md).

Which checkpoint: ``--run RUN`` takes the run's best (by held-out bits/byte during training), else
its newest, as every ``--checkpoint`` option does (`pipelines.runs.resolve`); ``--run RUN@last``,
``RUN@best`` or ``RUN@STEP`` choose explicitly, and ``--checkpoint last|best|STEP`` is the same
choice as an option. The shipped models were packaged from their runs' last checkpoints
(scripts/package_models.sh says ``@last``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from pipelines.errors import UsageError
from pipelines.inputs import apply_threads
from pipelines.packaging.packager import package_model


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("package", help="package a pretraining run as a shipped model with its card",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, metavar="RUN_DIR",
                   help="the pretraining run directory (its best checkpoint, else its newest), or "
                        "RUN_DIR@last, RUN_DIR@best, RUN_DIR@STEP")
    p.add_argument("--name", required=True, help="shipped model name, e.g. dna-bacteria-small")
    p.add_argument("--checkpoint", default=None,
                   help="last, best or a step within the run (the same as RUN_DIR@...), or a checkpoint "
                        "directory (default: the run's best, else its newest)")
    p.add_argument("--out", help="model directory (default: hnet_bio/models/NAME)")
    p.add_argument("--recipe", help="the run's recipe (default: configs/pretrain-NAME.yaml)")
    p.add_argument("--eval-windows", type=int, default=512, help="held-out windows, evenly spaced (512)")
    p.add_argument("--absent-windows", type=int, default=512,
                   help="Leptospira windows for DNA (512; 0: none)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-order", type=int, default=12, help="highest Markov order of the anchor (12)")
    p.add_argument("--no-anchors", action="store_true", help="skip the Markov / xz / zstd anchors")
    p.add_argument("--slice-out", help="regression numbers file (default tests/data/shipped/NAME.json)")
    p.add_argument("--hardware", help="where the run trained, for the card (default: what the run records)")
    p.add_argument("--limitation", action="append", default=[], help="an extra known limitation (repeatable)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the measurements")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.eval_windows < 1 or args.absent_windows < 0 or args.batch_size < 1:
        raise UsageError("--eval-windows and --batch-size must be >= 1, --absent-windows >= 0")
    if not 0 <= args.max_order <= 32:
        raise UsageError("--max-order must be in 0..32")
    apply_threads(args.threads)
    argv = sys.argv[1:]
    command = None
    if "package" in argv:  # the card records the exact command that made it
        command = f"hnet-bio package {shlex.join(argv[argv.index('package') + 1:])}"
    package_model(args.run, args.name, args.checkpoint, args.out, args.recipe, args.eval_windows,
                  args.absent_windows, args.batch_size, args.max_order, not args.no_anchors, args.slice_out,
                  args.hardware, args.limitation, command, None if args.quiet else sys.stderr)
    return 0
