"""`hnet-bio data list|fetch|info`: which named corpora exist, unpacking the real ones, one summarised.

``list_data``, ``fetch_data`` and ``describe_data`` are plain typed functions (small, used by this
job only, so they live here); ``add_parser`` only wires argparse.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from modalities.corpora import Corpus, CorpusStatus, default_data_dir, list_corpora, open_corpus
from pipelines.errors import UsageError
from pipelines.units import human_bytes

FETCH_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fetch_data.sh"


def format_table(rows: list[CorpusStatus]) -> str:
    """The corpora as an aligned text table (sizes are on disk, i.e. compressed where the files are)."""
    header = ("name", "modality", "files", "size", "present", "path")
    lines = [header]
    for r in rows:
        present = "yes" if r.present else "no"
        lines.append((r.name, r.modality, str(r.files), human_bytes(r.bytes), present, r.path))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1]
                     for line in lines)


def list_data(data_dir: str | os.PathLike[str] | None = None) -> list[CorpusStatus]:
    """Status of every named corpus under ``data_dir`` (default: see ``default_data_dir``)."""
    return list_corpora(data_dir)


def fetch_data(data_dir: str | os.PathLike[str] | None = None, script: Path = FETCH_SCRIPT) -> int:
    """Run ``scripts/fetch_data.sh`` into ``data_dir``; returns its exit status."""
    if not script.is_file():
        raise UsageError(f"{script}: fetch script not found (run from a source checkout of hnet-bio)")
    target = Path(data_dir) if data_dir is not None else default_data_dir()
    return subprocess.call(["bash", str(script), str(target)])


def describe_data(spec: str, split: str = "all", data_dir: str | os.PathLike[str] | None = None,
                  sample_rate: int | None = None) -> Corpus:
    """Open a named corpus or files (validating them, building the cache) to summarise it."""
    return open_corpus(spec, split, data_dir=data_dir, sample_rate=sample_rate)


def format_corpus(corpus: Corpus, max_units: int = 20) -> str:
    """One line for the corpus, then one per unit (name, bytes) up to ``max_units``."""
    n = len(corpus.units)
    lines = [f"{corpus.spec[:100]}  split={corpus.split}  modality={corpus.modality}  "
             f"units={n}  bytes={corpus.total_bytes}"
             + (f"  sample_rate={corpus.sample_rate}" if corpus.sample_rate else "")]
    if corpus.source.get("held_out"):  # the train/eval rule in words, whatever split is listed
        lines.append(f"  eval split: {corpus.source['held_out']}")
    lines += [f"  {u.name}\t{u.length}" for u in corpus.units[:max_units]]
    if n > max_units:
        lines.append(f"  ... {n - max_units} more")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    if args.data_command == "fetch":
        return fetch_data(args.data_dir)
    if args.data_command == "info":
        if not args.spec:
            raise UsageError("data info needs a corpus name or file paths")
        if args.sample_rate is not None and args.sample_rate <= 0:
            raise UsageError(f"--sample-rate must be a positive integer (Hz), got {args.sample_rate}")
        print(format_corpus(describe_data(args.spec, args.split, args.data_dir, args.sample_rate)))
        return 0
    print(format_table(list_data(args.data_dir)))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="list the named corpora, or fetch the real ones into data/")
    p.add_argument("data_command", nargs="?", choices=("list", "fetch", "info"), default="list",
                   help="list (default): corpora, sizes, presence; fetch: unpack Debian packages into data/; "
                        "info SPEC: open and summarise a corpus or files")
    p.add_argument("spec", nargs="?", default=None, help="for info: corpus name or comma-separated paths")
    p.add_argument("--split", default="all", choices=("train", "eval", "all"), help="for info: which split")
    p.add_argument("--sample-rate", type=int, default=None, help="for info on audio: bytes per second")
    p.add_argument("--data-dir", default=None, help="data directory (default: $HNET_BIO_DATA or <repo>/data)")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    sys.exit(_run(argparse.Namespace(data_command="list", data_dir=None)))
