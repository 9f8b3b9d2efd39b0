"""`hnet-bio evaluate`: one checkpoint on any data: held-out bits/byte, bytes per chunk, anchors.

The number is pretraining's own (`pipelines.training.evaluation.evaluate_bpb`): total nats over
all predicted bytes of contiguous non-overlapping windows of ``seq_len + 1`` bytes, each byte
predicted from context inside its window. The classical anchors (`pipelines.evaluation.anchors`) are
measured on exactly the same predicted bytes, so "the H-Net beats an order-10 Markov model by
0.05 bits/byte" is a statement about one set of bytes. The Markov model is counted on the
checkpoint's own training split (as recorded next to it) unless ``--anchor-train`` names another,
and cached (`pipelines.evaluation.anchor_cache`), so the same windows are counted only once.

Which bytes: on the checkpoint's own training corpus, its held-out split; on any other data (a
file the model never saw), every byte (``--split auto``, `pipelines.evaluation.scope`). The output
always names them: record, span and file, per record (all of them in ``--json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hnet_bio.atomic import atomic_write_json
from pipelines.errors import UsageError
from pipelines.evaluation.heldout import SPLITS, corpus_spec, evaluate_checkpoint
from pipelines.evaluation.result import format_table
from pipelines.inputs import add_device_option, add_quiet_option, apply_threads

# --------------------------------------------------------------------------- CLI

def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate", help="held-out bits/byte of a checkpoint on any data, with classical anchors",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True,
                   help="checkpoint directory, run directory (its best, else newest), RUN@best|last|STEP, "
                        "or a shipped model name")
    p.add_argument("--data", required=True, nargs="+", metavar="CORPUS_OR_FILES",
                   help="named corpus (dna-bacteria, audio-speech, ...) or FASTA/WAV files")
    p.add_argument("--region", action="append", metavar="R",
                   help="DNA chr:start-end to evaluate (repeatable)")
    p.add_argument("--split", default="auto", choices=SPLITS,
                   help="auto (default): the held-out split when --data is the checkpoint's training corpus, "
                        "every byte of any other data; eval: the held-out split as pretraining made it; "
                        "all: every byte")
    p.add_argument("--seq-len", type=int, default=None, help="window length (default: the checkpoint's)")
    p.add_argument("--max-windows", type=int, default=None, help="evenly spaced subset of the windows")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--no-anchors", action="store_true", help="skip the Markov / xz / zstd anchors")
    p.add_argument("--anchor-train", nargs="+", metavar="CORPUS_OR_FILES",
                   help="count the Markov anchor here (default: the checkpoint's training split)")
    p.add_argument("--max-order", type=int, default=12, help="highest Markov order (default 12)")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default 1, the fastest measured)")
    add_device_option(p)
    add_quiet_option(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if args.seq_len is not None and args.seq_len < 1:
        raise UsageError(f"--seq-len must be >= 1, got {args.seq_len}")
    if args.max_windows is not None and args.max_windows < 1:
        raise UsageError(f"--max-windows must be >= 1, got {args.max_windows}")
    if args.batch_size < 1 or not 0 <= args.max_order <= 32:
        raise UsageError("--batch-size must be >= 1 and --max-order in 0..32")
    anchor_train = corpus_spec(args.anchor_train) if args.anchor_train else None
    r = evaluate_checkpoint(args.checkpoint, corpus_spec(list(args.data)), regions=args.region,
                            split=args.split, seq_len=args.seq_len, max_windows=args.max_windows,
                            batch_size=args.batch_size, anchors=not args.no_anchors,
                            anchor_train=anchor_train, max_order=args.max_order, device=args.device,
                            log=None if args.quiet else sys.stderr)
    print(format_table(r), file=sys.stdout, flush=True)
    if args.json:
        atomic_write_json(Path(args.json), r.to_json())
    return 0
