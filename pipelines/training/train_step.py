"""One optimizer step, and which windows each step reads.

Kept apart from the run bookkeeping in ``pretrain.py`` so the arithmetic that DDP and exact
resume depend on (window indices, gradient accumulation, all-reduce of the logged statistics,
the non-finite check before the weights move) can be read and tested on its own.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Sampler

from pipelines.training.distributed import DistEnv, all_reduce_mean
from pipelines.training.evaluation import autocast_for, split_window


class WindowBatches(Sampler[list[int]]):
    """Window indices of every micro-batch this rank reads, from ``start_step`` on.

    Global sample index = ((step * grad_accum + micro) * world + rank) * batch + b, so ranks read
    disjoint windows, their union at a step is what one process with ``world * batch`` windows
    would read, and the data position is simply the step.
    """

    def __init__(self, start_step: int, end_step: int, grad_accum: int, world: int, rank: int, batch: int):
        self.start, self.end, self.accum = start_step, end_step, grad_accum
        self.world, self.rank, self.batch = world, rank, batch

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.end):
            for micro in range(self.accum):
                base = ((step * self.accum + micro) * self.world + self.rank) * self.batch
                yield list(range(base, base + self.batch))

    def __len__(self) -> int:
        return (self.end - self.start) * self.accum


def forward_loss(model: torch.nn.Module, window: torch.Tensor, device: torch.device, precision: str) -> Any:
    """Forward one (B, L + 1) uint8 micro-batch with next-byte targets; returns the model output."""
    x, y = split_window(window, device)
    with autocast_for(precision, device):
        return model(x, targets=y)


@dataclass
class StepResult:
    """Rank-averaged statistics of one step: [loss, ce_loss, ratio_loss, *bytes per chunk per stage]."""

    stats: list[float]
    grad_norm: float
    failure: str | None = None  # "loss" or "gradient norm" when it was not finite (weights untouched)

    @property
    def failed_value(self) -> float:
        return self.stats[0] if self.failure == "loss" else self.grad_norm


def train_step(net: torch.nn.Module, ddp: torch.nn.parallel.DistributedDataParallel | None,
               opt: torch.optim.Optimizer, batches: Iterator[torch.Tensor], env: DistEnv, *,
               grad_accum: int, grad_clip: float | None, precision: str) -> StepResult:
    """Accumulate ``grad_accum`` micro-batches, clip, and step, unless loss or grad norm is not finite.

    DDP averages gradients over ranks on the last micro-step only (``no_sync`` before it), so the
    result equals one process on the union of all ranks' windows (up to batch-level statistics
    such as the ratio loss, which each rank computes on its own windows).
    """
    sums: torch.Tensor | None = None
    for micro in range(grad_accum):
        last = micro == grad_accum - 1
        with ddp.no_sync() if ddp is not None and not last else contextlib.nullcontext():
            out = forward_loss(net, next(batches), env.device, precision)
            (out.loss / grad_accum).backward()
        stats = torch.tensor([out.loss.detach().item(), out.ce_loss.detach().item(),
                              float(torch.as_tensor(out.ratio_loss).detach()), *out.compression],
                             dtype=torch.float64, device=env.device)
        sums = stats if sums is None else sums + stats
    assert sums is not None
    mean = all_reduce_mean(sums / grad_accum, env).tolist()
    if not math.isfinite(mean[0]):  # every rank sees the same reduced value, so all stop together
        opt.zero_grad(set_to_none=True)
        return StepResult(mean, float("nan"), "loss")
    params = [p for g in opt.param_groups for p in g["params"]]
    gnorm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip else float("inf")).item()
    if not math.isfinite(gnorm):
        opt.zero_grad(set_to_none=True)
        return StepResult(mean, gnorm, "gradient norm")
    opt.step()
    opt.zero_grad(set_to_none=True)
    return StepResult(mean, gnorm)
