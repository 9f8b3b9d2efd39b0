"""Run a checkpoint over sequences of any length, in overlapping windows, batched, and stitch.

`iter_pieces` is the streaming core (memory bounded by one batch of windows plus what the caller
keeps); `analyze_many` / `analyze` assemble the pieces of each sequence into an `Analysis`.
Which window reports which byte is decided in `windows.py` (the most-left-context rule).
Only the public model API is used: ``model(ids, mask)`` returning an `LMOutput` whose ``stages``
carry per-stage boundary probabilities, masks and hidden states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

import numpy as np
import torch

from hnet_bio.lm import HNetLM, IsotropicLM
from hnet_bio.workers import run_jobs
from pipelines.analysis.result import DECODER, INNER, Analysis, hidden_levels
from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW, Window, check_window, plan_windows

ByteSequence = bytes | bytearray | memoryview | str | np.ndarray
Progress = Callable[[int, int], None]  # (bytes reported so far, total bytes)
# Padded bytes per forward when the caller gives no batch size: two 4 kB windows, or sixteen of
# 500 bytes. Larger batches were slower per byte on a CPU (8 x 4096: 3.2 kB/s against 5.0 kB/s
# for 2 x 4096, 1 thread, benchmarks/inference.py): the (batch, window, channels) activations
# outgrow the cache and every elementwise pass goes to memory.
BATCH_BYTES = 8192


def batches_of(plan: list[Window], batch_size: int | None) -> list[list[Window]]:
    """Consecutive windows grouped into forwards: `batch_size` at a time, or (None) as many as keep
    the padded batch (count x longest) within BATCH_BYTES, at least one."""
    if batch_size is not None:
        return [plan[b0 : b0 + batch_size] for b0 in range(0, len(plan), batch_size)]
    out: list[list[Window]] = []
    width = 0
    for w in plan:
        n = w.end - w.start
        if out and (len(out[-1]) + 1) * max(width, n) <= BATCH_BYTES:
            out[-1].append(w)
            width = max(width, n)
        else:
            out.append([w])
            width = n
    return out


class AnalysisOptions(TypedDict, total=False):
    """The keyword options of `iter_pieces` (defaults there), which `analyze_many` and `analyze` pass on."""

    window: int
    stride: int
    batch_size: int | None
    workers: int | None
    hidden: Iterable[str]
    progress: Progress | None


@dataclass
class Piece:
    """The reported span ``[start, end)`` of one window, in the sequence's byte coordinates.

    Arrays: boundary_prob (S, n) float32, boundary (S, n) bool, chunk_index (S, n) int64 (counted
    from the sequence start), hidden[level] (N, D) float32 with hidden_positions[level] (N,) int64.
    """

    seq: int
    start: int
    end: int
    window: Window
    boundary_prob: np.ndarray
    boundary: np.ndarray
    chunk_index: np.ndarray
    hidden: dict[str, np.ndarray] = field(default_factory=dict)
    hidden_positions: dict[str, np.ndarray] = field(default_factory=dict)


def as_bytes(seq: ByteSequence) -> np.ndarray:
    """Any byte-like (bytes, ASCII str, uint8 array) as a 1-D uint8 array (no copy where possible)."""
    if isinstance(seq, str):
        seq = seq.encode("ascii")
    if isinstance(seq, (bytes, bytearray, memoryview)):
        return np.frombuffer(seq, dtype=np.uint8)
    arr = np.asarray(seq)
    if arr.ndim != 1 or arr.dtype != np.uint8:
        raise ValueError(f"expected a 1-D uint8 sequence, got shape {arr.shape} dtype {arr.dtype}")
    return arr


def num_stages(model: HNetLM | IsotropicLM) -> int:
    return int(model.config.num_stages) if isinstance(model, HNetLM) else 0


def _check_levels(model: HNetLM | IsotropicLM, hidden: Iterable[str]) -> list[str]:
    levels = list(dict.fromkeys(hidden))
    known = hidden_levels(num_stages(model))
    unknown = [h for h in levels if h not in known]
    if unknown:
        raise ValueError(f"unknown hidden level(s) {unknown}; this model has {known}")
    return levels


def iter_pieces(
    model: HNetLM | IsotropicLM,
    sequences: Sequence[ByteSequence],
    *,
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    batch_size: int | None = None,
    workers: int | None = None,
    hidden: Iterable[str] = (),
    progress: Progress | None = None,
) -> Iterator[Piece]:
    """Pieces of every sequence, in order (sequence by sequence, left to right).

    batch_size: windows per forward (None: `batches_of`, about BATCH_BYTES per forward).
    workers: processes running the forwards (None: `hnet_bio.workers.choose_workers`, both idle
    cores for a long CPU job, else 1 = here).
    """
    check_window(window, stride)
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    levels = _check_levels(model, hidden)
    arrays = [as_bytes(s) for s in sequences]
    for i, a in enumerate(arrays):
        if a.size == 0:
            raise ValueError(f"sequence {i} is empty (the model needs at least one byte)")
    plan = [w for i, a in enumerate(arrays) for w in plan_windows(a.size, window, stride, i)]
    total = sum(a.size for a in arrays)
    s_count = num_stages(model)
    counts = np.zeros((len(arrays), s_count), dtype=np.int64)  # boundaries so far per sequence/stage
    done = 0
    batches = batches_of(plan, batch_size)
    jobs = [([arrays[w.seq][w.start : w.end] for w in batch], levels) for batch in batches]  # views
    was_training = model.training
    model.eval()
    try:
        outputs = run_jobs(model, _forward, jobs, workers)
        for batch, raws in zip(batches, outputs):
            for w, raw in zip(batch, raws):
                piece = _report(w, raw, counts[w.seq], levels)
                done += piece.end - piece.start
                if progress is not None:
                    progress(done, total)
                yield piece
    finally:
        model.train(was_training)


@dataclass
class _WindowOutput:
    prob: np.ndarray  # (S, W) float32
    bound: np.ndarray  # (S, W) bool
    hidden: dict[str, tuple[np.ndarray, np.ndarray]]  # level -> (rows (N, D), window-relative positions (N,))


@torch.inference_mode()
def _forward(model: HNetLM | IsotropicLM, chunks: list[np.ndarray], levels: list[str]) -> list[_WindowOutput]:
    """One padded forward over a batch of windows (their bytes, `chunks`); per window, everything
    mapped to its bytes. Module-level so worker processes can run it (see hnet_bio/workers.py)."""
    device = next(model.parameters()).device
    s_count = num_stages(model)
    width = max(c.size for c in chunks)
    ids = torch.zeros(len(chunks), width, dtype=torch.long)
    mask = torch.zeros(len(chunks), width, dtype=torch.bool)
    for r, c in enumerate(chunks):
        ids[r, : c.size] = torch.from_numpy(c.astype(np.int64))
        mask[r, : c.size] = True
    out = model(ids.to(device), mask=mask.to(device))  # LMOutput; stages[s] at resolution L_s
    results = []
    for r, c in enumerate(chunks):
        n = c.size
        pos = torch.arange(n, device=device)  # byte (window-relative) of each stage-s position
        prob = np.full((s_count, n), np.nan, dtype=np.float32)
        bound = np.zeros((s_count, n), dtype=bool)
        rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for s, st in enumerate(out.stages):
            valid = st.mask[r]  # (L_s,) bool; its count equals len(pos)
            p = st.boundary_prob[r][valid].float()
            b = st.boundary_mask[r][valid]
            prob[s, pos.cpu().numpy()] = p.cpu().numpy()
            bound[s, pos.cpu().numpy()] = b.cpu().numpy()
            if f"stage{s}" in levels:
                rows[f"stage{s}"] = (_np(st.hidden_states[r][valid]), pos.cpu().numpy())
            pos = pos[b]
        if INNER in levels:
            assert out.inner is not None
            inner = out.inner.hidden_states[r][out.inner.mask[r]]  # (M_S, D_S)
            rows[INNER] = (_np(inner), pos.cpu().numpy())
        if DECODER in levels:
            rows[DECODER] = (_np(out.last_hidden[r][:n]), np.arange(n))
        results.append(_WindowOutput(prob, bound, rows))
    return results


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def _report(w: Window, raw: _WindowOutput, counts: np.ndarray, levels: list[str]) -> Piece:
    """Cut a window's output to its reported span and continue the sequence's chunk count."""
    lo, hi = w.report_from - w.start, w.end - w.start
    bound = raw.bound[:, lo:hi]
    chunk_index = counts[:, None] + np.cumsum(bound, axis=1, dtype=np.int64) - 1  # (S, n)
    counts += bound.sum(axis=1)
    hidden, positions = {}, {}
    for level in levels:
        rows, rel = raw.hidden[level]
        keep = (rel >= lo) & (rel < hi)
        hidden[level] = rows[keep]
        positions[level] = (rel[keep] + w.start).astype(np.int64)
    return Piece(w.seq, w.report_from, w.end, w, raw.prob[:, lo:hi], bound, chunk_index, hidden, positions)


def analyze_many(
    model: HNetLM | IsotropicLM, sequences: Sequence[ByteSequence], **options: Unpack[AnalysisOptions]
) -> Iterator[Analysis]:
    """One `Analysis` per sequence, in order, each yielded as soon as its last window is done."""
    levels = _check_levels(model, options.get("hidden", ()))
    window, stride = options.get("window", DEFAULT_WINDOW), options.get("stride", DEFAULT_STRIDE)
    ratios = model.config.target_ratios() if isinstance(model, HNetLM) else []
    current: list[Piece] = []
    merged: AnalysisOptions = {**options, "hidden": levels}
    for piece in iter_pieces(model, sequences, **merged):
        if current and piece.seq != current[0].seq:
            yield _assemble(current, levels, ratios, window, stride)
            current = []
        current.append(piece)
    if current:
        yield _assemble(current, levels, ratios, window, stride)


def _assemble(
    pieces: list[Piece], levels: list[str], ratios: list[float], window: int, stride: int
) -> Analysis:
    return Analysis(
        length=pieces[-1].end,
        boundary_prob=np.concatenate([p.boundary_prob for p in pieces], axis=1),
        boundary=np.concatenate([p.boundary for p in pieces], axis=1),
        chunk_index=np.concatenate([p.chunk_index for p in pieces], axis=1),
        target_ratios=list(ratios),
        window=window,
        stride=stride,
        hidden={lv: np.concatenate([p.hidden[lv] for p in pieces]) for lv in levels},
        hidden_positions={lv: np.concatenate([p.hidden_positions[lv] for p in pieces]) for lv in levels},
    )


def analyze(
    model: HNetLM | IsotropicLM, sequence: ByteSequence, **options: Unpack[AnalysisOptions]
) -> Analysis:
    """Boundaries (and optionally hidden states) of one sequence of any length; see `Analysis`.

    window/stride: bytes per model call and step between windows; every byte past the first
    window is reported from a window giving it >= window - stride bytes of left context.
    batch_size: windows per forward (memory ~ batch_size * window; default: about 8 kB of windows).
    workers: processes sharing the forwards (default: both idle cores for long inputs). hidden: levels to keep
    ("stage0", ..., "inner", "decoder"; see result.hidden_levels). progress(done, total): called
    after each window with bytes reported so far (see progress.ProgressBar for a stderr bar).
    """
    (result,) = analyze_many(model, [sequence], **options)
    return result
