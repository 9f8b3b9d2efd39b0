"""The `hnet-bio` command: parses arguments and calls the typed job functions in `pipelines/`.

Each job module exposes ``add_parser(subparsers)`` that registers its subcommand and sets
``func`` to a callable taking the parsed namespace. This file only wires them together, so a
job can be called from Python without going through argparse.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# Job modules, in the order their subcommands are listed by --help.
COMMANDS: tuple[str, ...] = (
    "pipelines.info",
    "pipelines.data",
    "pipelines.pretrain",
    "pipelines.generate",
)


class CLIError(Exception):
    """An error the CLI reports as one line on stderr with a non-zero exit."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    if args.version:
        from hnet_bio import __version__

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
    except Exception as exc:  # one line for expected user errors; tracebacks for bugs
        if _is_user_error(exc):
            print(f"hnet-bio {args.command}: error: {exc}", file=sys.stderr)
            return 2
        raise
    return int(rc or 0)


def _is_user_error(exc: BaseException) -> bool:
    """User-facing errors: our CLIError, the modalities' typed input errors, bad files/values."""
    if isinstance(exc, (CLIError, FileNotFoundError, IsADirectoryError, PermissionError)):
        return True
    for mod, name in (("modalities.errors", "InputError"), ("hnet_bio.errors", "HNetBioError")):
        cls = getattr(sys.modules.get(mod), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
