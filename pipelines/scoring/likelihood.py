"""Per-position log-likelihoods of byte rows under a causal byte model, in bits.

A row of L bytes gets L - 1 predictions: byte i (i >= 1) is scored by the model's distribution
after bytes [0, i). The first byte has no prediction (no BOS byte; docs/model.md) and is left
out of every sum, so a row's log-likelihood is ``sum_{i>=1} log2 p(x_i | x_<i)``.

`row_log_probs` is the batched core: rows of any lengths are sorted by length, right-padded into
batches with a mask (the model's own padding rule; `tests` hold padding invariance) and run once.
`sequence_track` covers a sequence of any length with the analysis windows (`analysis.windows`:
every byte is reported by the window where it has the most left context).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hnet_bio.lm import HNetLM, IsotropicLM
from hnet_bio.workers import run_jobs
from modalities.iupac import complement_table
from pipelines.analysis.windows import plan_windows

Model = HNetLM | IsotropicLM
LOG2E = 1.0 / math.log(2.0)
PAD_BYTE = ord("N")  # what fills a padded position; masked, so never read by a valid byte
_COMPLEMENT = complement_table()


@dataclass
class RowScores:
    """What the model says about each predicted byte of one row (length L - 1, positions 1..L-1)."""

    log_prob: np.ndarray  # (L-1,) float64, log2 p(x_i | x_<i), bits (<= 0)
    entropy: np.ndarray | None = None  # (L-1,) float64, bits, entropy of the predictive distribution

    @property
    def total(self) -> float:
        return float(self.log_prob.sum())


def reverse_complement(row: np.ndarray) -> np.ndarray:
    """(L,) uint8 -> its IUPAC reverse complement (other bytes kept), a new array."""
    return _COMPLEMENT[row[::-1]]


def row_log_probs(
    model: Model,
    rows: Sequence[np.ndarray],
    batch_size: int = 32,
    entropy: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[RowScores]:
    """rows: uint8 arrays (L_i,) with L_i >= 1 -> one `RowScores` per row, in the given order.

    Batches hold up to ``batch_size`` rows of similar length (sorted), so padding stays small.
    workers: processes sharing the batches (None: `hnet_bio.workers.choose_workers`, both idle
    cores when there are enough batches to repay the workers' start; so give all rows in one
    call). progress(rows done, rows) after each batch.
    """
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    batches = [order[b : b + batch_size] for b in range(0, len(order), batch_size)]
    results = run_jobs(model, _batch_scores, [([rows[i] for i in idx], entropy) for idx in batches], workers)
    out: list[RowScores | None] = [None] * len(rows)
    done = 0
    for idx, scores in zip(batches, results):
        for i, score in zip(idx, scores):
            out[i] = score
        done += len(idx)
        if progress is not None:
            progress(done, len(rows))
    return [s for s in out if s is not None]


@torch.no_grad()
def _batch_scores(model: Model, rows: list[np.ndarray], entropy: bool) -> list[RowScores]:
    """One padded forward over `rows` (module-level: worker processes run it too)."""
    model.eval()
    device = next(model.parameters()).device
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), PAD_BYTE, dtype=np.uint8)
    mask = np.zeros((len(rows), width), dtype=bool)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = row
        mask[r, : len(row)] = True
    x = torch.from_numpy(ids).to(device)
    logits = model(x, torch.from_numpy(mask).to(device)).logits  # (B, W, V)
    lp, ent = _scores(logits, x, entropy)
    return [RowScores(lp[r, : len(row) - 1].copy(), None if ent is None else ent[r, : len(row) - 1].copy())
            for r, row in enumerate(rows)]


def _scores(logits: torch.Tensor, ids: torch.Tensor, entropy: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """logits (B, W, V), ids (B, W) -> log2 p of ids[:, 1:] (B, W-1) and optionally the entropy."""
    logp = torch.log_softmax(logits[:, :-1].double(), dim=-1)  # (B, W-1, V)
    lp = logp.gather(-1, ids[:, 1:].long().unsqueeze(-1)).squeeze(-1) * LOG2E
    ent = None
    if entropy:
        ent = (-(logp.exp() * logp).sum(-1) * LOG2E).cpu().numpy()
    return lp.cpu().numpy(), ent


@dataclass
class PositionTrack:
    """Per-byte scores over one sequence; index 0 (no prediction) is NaN."""

    log_prob: np.ndarray  # (L,) float64 bits
    entropy: np.ndarray  # (L,) float64 bits

    @property
    def total(self) -> float:
        return float(np.nansum(self.log_prob))

    @property
    def predicted(self) -> int:
        return max(0, self.log_prob.size - 1)


def sequence_track(
    model: Model, seq: np.ndarray, window: int, stride: int, batch_size: int = 8
) -> PositionTrack:
    """seq (L,) uint8 -> its `PositionTrack`, windowed so any length fits (see the module doc)."""
    lp = np.full(seq.size, np.nan)
    ent = np.full(seq.size, np.nan)
    plan = plan_windows(seq.size, window, stride)
    scores = row_log_probs(model, [seq[w.start : w.end] for w in plan], batch_size, entropy=True)
    for w, s in zip(plan, scores):
        first = max(w.report_from, w.start + 1)  # scores[k] is byte w.start + 1 + k
        lp[first : w.end] = s.log_prob[first - w.start - 1 :]
        assert s.entropy is not None
        ent[first : w.end] = s.entropy[first - w.start - 1 :]
    return PositionTrack(lp, ent)
