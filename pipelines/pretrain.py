"""`hnet-bio pretrain`: next-byte pretraining of HNetLM or IsotropicLM on DNA or audio bytes.

A leaf: it parses the options, reads the recipe (`pipelines.training.train_config.read_config`)
and calls `pipelines.training.loop.pretrain`, which prints progress and the summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipelines.errors import UsageError
from pipelines.runs.run_dir import RunDir
from pipelines.training.loop import pretrain
from pipelines.training.train_config import PretrainConfig, read_config, valid_override_keys


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "pretrain", allow_abbrev=False,
        usage="hnet-bio pretrain --config CONFIG [--data CORPUS_OR_FILES] --out RUN_DIR "
              "[--train.KEY VALUE ...]"
              "\n       hnet-bio pretrain --resume RUN_DIR [--train.KEY VALUE ...]",
        help="pretrain an H-Net (or isotropic baseline) on DNA or audio bytes",
        description="Pretrain HNetLM/IsotropicLM by next-byte prediction. Works the same under "
                    "`torchrun --nproc_per_node=N` (DDP; rank 0 writes). Any recipe key can be "
                    "overridden, e.g. --train.lr 3e-3 --train.max_steps 500.")
    p.add_argument("--config", help="recipe (YAML/JSON with model/data/train sections) or a model config")
    p.add_argument("--data", nargs="+", metavar="CORPUS_OR_FILES",
                   help="named corpus (dna-sample, dna-bacteria, audio-speech, ...) or FASTA/WAV files")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (must be new or empty)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its newest checkpoint")
    p.add_argument("--stop-after", type=int, metavar="STEPS",
                   help="checkpoint and stop after STEPS total steps (split a long run into jobs)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    group = p.add_argument_group("overrides (any recipe key)")
    for key in valid_override_keys():
        group.add_argument(f"--{key}", dest=f"override:{key}", metavar="VALUE", default=None)
    p.set_defaults(func=_run, explain_unknown=_explain_unknown)


def _explain_unknown(extras: list[str]) -> str | None:
    """Make ``--train.typo 1`` fail with the list of valid keys, not a bare "unrecognized arguments"."""
    bad = [a.split("=", 1)[0] for a in extras if a.startswith(("--train.", "--data.", "--model."))]
    if bad:
        return f"unknown override {bad[0]}; valid keys: {', '.join(valid_override_keys())}"
    return None


def _run(args: argparse.Namespace) -> int:
    overrides = {k.split(":", 1)[1]: v for k, v in vars(args).items()
                 if k.startswith("override:") and v is not None}
    data = None
    if args.data:
        data = args.data[0] if len(args.data) == 1 else list(args.data)
    if args.resume:
        if args.out and Path(args.out) != Path(args.resume):
            raise UsageError("--out and --resume name different directories; give just --resume RUN_DIR")
        out_dir, resume = args.resume, True
    else:
        if not args.config or not args.out:
            raise UsageError("give --config CONFIG and --out RUN_DIR (or --resume RUN_DIR)")
        out_dir, resume = args.out, False
    cfg = _config(args.config, args.resume, overrides)
    summary = pretrain(cfg, data, out_dir, resume=resume, stop_after=args.stop_after, verbose=not args.quiet)
    return 130 if summary.stopped_by == "SIGINT" else 0  # the shell's status for a Ctrl-C'd job


def _config(config: str | None, resume: str | None, overrides: dict[str, str]) -> PretrainConfig | None:
    """--config with the overrides; on --resume without one, the run's saved recipe if overrides
    change it, else None (`pretrain` reads the saved recipe itself, or says the run has none)."""
    if config:
        return read_config(config, overrides)
    if resume and overrides and RunDir(resume).config_path.is_file():
        return read_config(resume, overrides)
    return None
