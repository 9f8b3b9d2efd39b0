"""`hnet-bio compare`: does an H-Net learn more per byte than flat byte models, and by how much?

Every arm of a compare recipe (`pipelines.comparison.recipe`) is trained by the ordinary
pretraining loop (`pipelines.training.loop.pretrain`) into its own run directory
``OUT/runs/ARM-seedS/``, on the same training windows in the same order (same seed) and evaluated
on the same held-out windows at log-spaced training-byte counts (``train.eval_at_bytes``). The
report (`pipelines.comparison.report`) reads only those run directories, so running the same
command again resumes unfinished arms and skips finished ones, and ``--report-only`` rebuilds the
report from whatever points exist, finished or not.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipelines.comparison.runner import compare
from pipelines.errors import UsageError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compare",
        help="data efficiency of H-Nets against isotropic byte models, as a report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="hnet-bio compare --config RECIPE --out REPORT_DIR [--data CORPUS_OR_FILES] [--budget BYTES] "
        "[--seeds 0,1,2] [--eval-data NAME=FILES ...] [--quick] [--arms A,B]\n"
        "       hnet-bio compare --report-only --out REPORT_DIR",
    )
    p.add_argument("--config", help="compare recipe (configs/compare-dna.yaml, configs/compare-audio.yaml)")
    p.add_argument(
        "--out", required=True, metavar="REPORT_DIR", help="report directory (new, or one to resume)"
    )
    p.add_argument(
        "--data", nargs="+", metavar="CORPUS_OR_FILES", help="train on this instead of data.corpus"
    )
    p.add_argument("--budget", metavar="BYTES", help="training bytes per arm (e.g. 1e6)")
    p.add_argument("--seeds", metavar="S,S,...", help="seeds, comma-separated (default: the recipe's)")
    p.add_argument(
        "--eval-data",
        action="append",
        default=[],
        metavar="NAME=FILES",
        help="extra held-out set reported separately (corpus name or comma-separated files)",
    )
    p.add_argument("--quick", action="store_true", help="the recipe's quick section: tiny arms, minutes")
    p.add_argument("--arms", metavar="A,B", help="train only these arms (run several processes in parallel)")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from OUT/runs only")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_run)


def _parse_budget(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--budget must be a number of bytes, got {text!r}") from None
    if not value.is_integer() or value < 1:
        raise UsageError(f"--budget must be a positive whole number of bytes, got {text!r}")
    return int(value)


def _parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UsageError(f"--seeds must be non-negative integers, got {text!r}")
    return seeds


def _parse_eval_data(items: list[str]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for item in items:
        name, eq, spec = item.partition("=")
        if not eq or not name or not spec:
            raise UsageError(f"--eval-data expects NAME=CORPUS_OR_FILES, got {item!r}")
        files = [s for s in spec.split(",") if s]
        out[name] = files[0] if len(files) == 1 else files
    return out


def _run(args: argparse.Namespace) -> int:
    data = None
    if args.data:
        data = args.data[0] if len(args.data) == 1 else list(args.data)
    outcome = compare(
        args.config,
        args.out,
        data=data,
        budget=_parse_budget(args.budget),
        seeds=_parse_seeds(args.seeds),
        eval_data=_parse_eval_data(args.eval_data),
        quick=args.quick,
        report_only=args.report_only,
        verbose=not args.quiet,
        command=["hnet-bio", *sys.argv[1:]],
        only_arms=[a for a in args.arms.split(",") if a] if args.arms else None,
    )
    if outcome.stopped:  # an arm was stopped (Ctrl-C, SIGTERM) with a checkpoint; the next run resumes it
        print("hnet-bio: interrupted", file=sys.stderr)
        return 130  # the shell's status for an interrupted job
    return 0
