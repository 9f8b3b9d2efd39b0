"""`hnet-bio embed`: one vector per sequence, region or audio file (or per window), with metadata.

    hnet-bio embed --checkpoint DIR (--fasta FILE [--bed FILE | --region R ...] | --audio FILES)
        --out FILE.npz|FILE.parquet [--level inner] [--pooling mean] [--per-window BYTES]

Levels and poolings are described in pipelines/features/embedding.py. The .npz holds ``embeddings``
(N, D) float32 and one array per metadata column: ``name`` (record, region label or file stem),
``chrom``, ``start``/``end`` (forward genome coordinates of the span, 0-based half-open; for
audio, sample indices), ``strand``, ``window_start`` (offset of the span in the sequence as the
model read it, 0 unless --per-window), plus ``level``/``pooling``/``checkpoint`` scalars.
A .parquet file (needs pyarrow) has the same columns, the vector as a list column ``embedding``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from hnet_bio.atomic import atomic_path
from pipelines.analysis import DEFAULT_STRIDE, DEFAULT_WINDOW, ProgressBar, hidden_levels, num_stages
from pipelines.errors import UsageError
from pipelines.features.embedding import DEFAULT_LEVEL, DEFAULT_POOLING, POOLINGS, embed_sequences
from pipelines.inputs import (
    InputSpec,
    add_run_options,
    apply_threads,
    check_outputs,
    load_model_for,
    read_items,
)


@dataclass
class EmbedResult:
    embeddings: np.ndarray  # (N, D) float32
    columns: dict[str, np.ndarray]  # metadata, each (N,)
    out: Path


def embed_job(
    checkpoint: str | Path,
    out: str | Path,
    inputs: InputSpec,
    level: str = DEFAULT_LEVEL,
    pooling: str = DEFAULT_POOLING,
    per_window: int | None = None,
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    batch_size: int = 8,
    overwrite: bool = False,
    log: TextIO | None = None,
) -> EmbedResult:
    out = Path(out)
    if out.suffix.lower() not in (".npz", ".parquet"):
        raise UsageError("--out must end in .npz or .parquet")
    if pooling not in POOLINGS:
        raise UsageError(f"--pooling must be one of {', '.join(POOLINGS)}")
    if per_window is not None and per_window < 1:
        raise UsageError("--per-window must be >= 1 byte")
    if window < 1 or not 1 <= stride <= window:
        raise UsageError(f"need 1 <= --stride <= --window, got window {window}, stride {stride}")
    if out.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError("writing .parquet needs pyarrow (pip install pyarrow); or use .npz") from None
    check_outputs([out], overwrite)
    model, meta = load_model_for(checkpoint, inputs.modality)
    levels = hidden_levels(num_stages(model))
    if level not in levels:
        raise UsageError(f"--level {level!r} does not exist in this model; choose one of {', '.join(levels)}")
    if pooling in ("chunks", "grid") and num_stages(model) == 0:
        raise UsageError(f"--pooling {pooling} needs an H-Net (an isotropic model has no chunks)")
    items = read_items(meta, inputs)

    bar = ProgressBar("embed", log) if log is not None else None
    rows = list(embed_sequences(model, [it.data for it in items], level, pooling, per_window,
                                window=window, stride=stride, batch_size=batch_size, progress=bar))
    if bar is not None:
        bar.close()
    vectors = np.stack([v for *_, v in rows]).astype(np.float32)
    lo = np.array([r[1] for r in rows], dtype=np.int64)
    hi = np.array([r[2] for r in rows], dtype=np.int64)
    which = [items[r[0]] for r in rows]
    start = np.array([it.forward_interval(a, b)[0] for it, a, b in zip(which, lo, hi)], dtype=np.int64)
    end = np.array([it.forward_interval(a, b)[1] for it, a, b in zip(which, lo, hi)], dtype=np.int64)
    columns = {
        "name": np.array([it.name for it in which]),
        "chrom": np.array([it.chrom for it in which]),
        "start": start,
        "end": end,
        "strand": np.array([it.strand if not it.sample_rate else "." for it in which]),
        "window_start": lo,
    }
    _write(out, vectors, columns, {"level": level, "pooling": pooling, "checkpoint": str(checkpoint)})
    if log is not None:
        n, d = vectors.shape
        log.write(f"embed: {n} vectors of {d} dims ({level}, {pooling}) -> {out}\n")
    return EmbedResult(vectors, columns, out)


def _write(out: Path, vectors: np.ndarray, columns: dict[str, np.ndarray], scalars: dict[str, str]) -> None:
    if out.suffix.lower() == ".npz":
        with atomic_path(out) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, embeddings=vectors, **columns, **{k: np.array(v) for k, v in scalars.items()})
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({**{k: v.tolist() for k, v in columns.items()}, "embedding": vectors.tolist()})
    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in scalars.items()})
    with atomic_path(out) as tmp:
        pq.write_table(table, str(tmp))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("embed", help="pooled hidden-state vectors per sequence/region/file",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint directory (H-Net or isotropic)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--fasta", metavar="FILE", help="FASTA/GenBank/EMBL/GFF3+FASTA")
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
    p.add_argument("--batch-size", type=int, default=8)
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if args.batch_size < 1:
        raise UsageError("--batch-size must be >= 1")
    embed_job(args.checkpoint, args.out, InputSpec.from_args(args), level=args.level, pooling=args.pooling,
              per_window=args.per_window,
              window=args.window, stride=args.stride, batch_size=args.batch_size, overwrite=args.overwrite,
              log=None if args.quiet else sys.stderr)
    return 0
