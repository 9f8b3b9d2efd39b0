"""What ``hnet-bio embed`` does: one vector per sequence, region or audio file (or per tile), with
where each came from, written as .npz or .parquet.

The .npz holds ``embeddings`` (N, D) float32 and one array per metadata column (`SpanColumns`):
``name`` (record, region label or file stem), ``chrom``, ``start``/``end`` (forward genome
coordinates of the span, 0-based half-open; for audio, sample indices), ``strand``,
``window_start`` (offset of the span in the sequence as the model read it, 0 unless tiled), plus
``level``/``pooling``/``checkpoint`` scalars. A .parquet file has the same columns, the vector as
a list column ``embedding`` and the scalars as schema metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from hnet_bio.atomic import atomic_path
from pipelines.analysis.progress import ProgressBar
from pipelines.analysis.result import hidden_levels
from pipelines.analysis.run import num_stages
from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW
from pipelines.errors import UsageError
from pipelines.features.embedding import DEFAULT_LEVEL, DEFAULT_POOLING, POOLINGS, embed_sequences
from pipelines.inputs import InputSpec, Item, check_outputs, load_model_for, read_items


@dataclass(frozen=True)
class SpanColumns:
    """Where each vector comes from, one entry per vector (each array (N,))."""

    name: np.ndarray
    chrom: np.ndarray
    start: np.ndarray  # int64, forward coordinates (audio: sample index)
    end: np.ndarray
    strand: np.ndarray  # "+", "-", or "." for audio
    window_start: np.ndarray  # int64, offset of the span in the bytes the model read

    def as_columns(self) -> dict[str, np.ndarray]:
        """Column name -> array, in the order the files hold them."""
        return {"name": self.name, "chrom": self.chrom, "start": self.start, "end": self.end,
                "strand": self.strand, "window_start": self.window_start}


@dataclass
class EmbedResult:
    embeddings: np.ndarray  # (N, D) float32
    spans: SpanColumns
    out: Path


def extract_embeddings(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    inputs: InputSpec,
    level: str = DEFAULT_LEVEL,
    pooling: str = DEFAULT_POOLING,
    per_window: int | None = None,
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    batch_size: int | None = None,
    overwrite: bool = False,
    log: TextIO | None = None,
    device: str | torch.device | None = "cpu",
) -> EmbedResult:
    """Embed the input with `checkpoint` (any form `pipelines.runs.resolve` takes) and write `out`."""
    out = Path(out)
    _check_options(out, pooling, per_window, window, stride)
    check_outputs([out], overwrite)
    model, meta = load_model_for(checkpoint, inputs.modality, device)
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
    spans = _spans(items, rows)
    _write(out, vectors, spans, {"level": level, "pooling": pooling, "checkpoint": str(checkpoint)})
    if log is not None:
        n, d = vectors.shape
        log.write(f"embed: {n} vectors of {d} dims ({level}, {pooling}) -> {out}\n")
    return EmbedResult(vectors, spans, out)


def _check_options(out: Path, pooling: str, per_window: int | None, window: int, stride: int) -> None:
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
            import pyarrow  # noqa: F401  # why: only .parquet needs it; .npz works where it is missing
        except ImportError:
            raise UsageError("writing .parquet needs pyarrow (pip install pyarrow); or use .npz") from None


def _spans(items: list[Item], rows: list[tuple[int, int, int, np.ndarray]]) -> SpanColumns:
    """Each (item index, lo, hi, vector) row's span in the user's coordinates."""
    lo = np.array([r[1] for r in rows], dtype=np.int64)
    hi = np.array([r[2] for r in rows], dtype=np.int64)
    which = [items[r[0]] for r in rows]
    start = np.array([it.forward_interval(a, b)[0] for it, a, b in zip(which, lo, hi)], dtype=np.int64)
    end = np.array([it.forward_interval(a, b)[1] for it, a, b in zip(which, lo, hi)], dtype=np.int64)
    return SpanColumns(
        name=np.array([it.name for it in which]),
        chrom=np.array([it.chrom for it in which]),
        start=start,
        end=end,
        strand=np.array([it.strand if not it.sample_rate else "." for it in which]),
        window_start=lo,
    )


def _write(out: Path, vectors: np.ndarray, spans: SpanColumns, scalars: dict[str, str]) -> None:
    columns = spans.as_columns()
    if out.suffix.lower() == ".npz":
        with atomic_path(out) as tmp, open(tmp, "wb") as fh:
            arrays = {"embeddings": vectors, **columns, **{k: np.array(v) for k, v in scalars.items()}}
            np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub lets **kwds fill allow_pickle
        return
    import pyarrow as pa  # why: only .parquet needs it (checked in `_check_options`)
    import pyarrow.parquet as pq

    table = pa.table({**{k: v.tolist() for k, v in columns.items()}, "embedding": vectors.tolist()})
    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in scalars.items()})
    with atomic_path(out) as tmp:
        pq.write_table(table, str(tmp))
