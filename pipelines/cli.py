"""The `hnet-bio` command: parses arguments and calls the typed job functions in `pipelines/`.

Each job module exposes ``add_parser(subparsers)`` that registers its subcommand and sets
``func`` to a callable taking the parsed namespace (and optionally ``explain_unknown``, which turns
unknown options into a better message). This file only wires them together, so a job can be
called from Python without going through argparse, and maps errors to exit statuses: any
`hnet_bio.errors.HNetBioError` (the jobs' `pipelines.errors`, the modalities' input errors, the
core's config/checkpoint errors) is one line on stderr and its `exit_code` (2, or 1 for a job that
failed while running); a missing or unreadable file is one line and 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from hnet_bio import __version__
from hnet_bio.errors import HNetBioError

# Job modules, in the order their subcommands are listed by --help.
COMMANDS: tuple[str, ...] = (
    "pipelines.info",
    "pipelines.data",
    "pipelines.pretrain",
    "pipelines.generate",
    "pipelines.evaluate",
    "pipelines.compare",
    "pipelines.models",
    "pipelines.package",
    "pipelines.boundaries",
    "pipelines.embed",
    "pipelines.classify",
    "pipelines.browse",
    "pipelines.score",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (the usage is one --help away).

    Subcommand parsers are made with the parent's class, so this covers every ``hnet-bio CMD``.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="hnet-bio",
        description="Tokenizer-free modeling of DNA and raw audio with H-Net dynamic chunking.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        # A job may explain its own unknown options (pretrain lists the valid recipe keys);
        # argparse's generic "unrecognized arguments" otherwise.
        explain = getattr(args, "explain_unknown", None)
        message = explain(extras) if explain else None
        parser.error(message or f"unrecognized arguments: {' '.join(extras)}")
    if args.version:
        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        print("hnet-bio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `hnet-bio ... | head`: the reader left; exit quietly like other Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except HNetBioError as exc:  # every error a user can fix: one line, the error's exit status
        print(f"hnet-bio {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"hnet-bio {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
