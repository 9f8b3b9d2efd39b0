"""Held-out bits per byte over a fixed set of contiguous windows, summed exactly across ranks.

The number reported is total nats over total predicted bytes (not a mean of per-batch means), so
it does not depend on the batch size or on how windows are split between ranks: rank ``r`` of
``W`` takes windows ``r, r + W, ...`` and the sums are all-reduced.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from modalities.datasets import EvalWindows
from pipelines.training.distributed import DistEnv, all_reduce_sum


def autocast_for(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast (weights stay fp32) or nothing; the same context for train and eval."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def split_window(w: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L + 1) uint8 window -> inputs (B, L) long and next-byte targets (B, L) long."""
    w = w.to(device, non_blocking=True)
    return w[:, :-1].long(), w[:, 1:].long()


@dataclass(frozen=True)
class HeldOutScore:
    """What one held-out evaluation measured: total nats over ``predicted_bytes`` in bits per byte,
    and positions per chunk of each stage (outermost first; empty for an isotropic model).
    ``window_bpb``: bits/byte of each window in order, when asked for (what a confidence interval
    resamples); empty otherwise."""

    bits_per_byte: float
    predicted_bytes: int
    bytes_per_chunk: tuple[float, ...]
    window_bpb: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The fields of a ``kind: eval`` line of metrics.jsonl (`EvalRecord`), in its order."""
        out: dict[str, Any] = {"eval_bpb": self.bits_per_byte, "eval_bytes": self.predicted_bytes,
                               "eval_compression": list(self.bytes_per_chunk)}
        if self.window_bpb:  # 6 decimals: 512 windows add about 5 kB to a metrics line, not 10
            out["eval_window_bpb"] = [round(b, 6) for b in self.window_bpb]
        return out


@torch.no_grad()
def evaluate_bpb(model: torch.nn.Module, windows: Sequence[torch.Tensor] | EvalWindows, env: DistEnv,
                 batch_size: int, precision: str = "fp32",
                 progress: Callable[[int, int], None] | None = None,
                 per_window: bool = False) -> HeldOutScore:
    """Bits per byte and bytes per chunk (per stage) of ``model`` on ``windows`` (each (L + 1,) uint8).

    per_window: also each window's bits/byte (``window_bpb``), for confidence intervals; every
    window has the same number of predicted bytes, so their mean is the total's bits/byte.

    ``model`` must be the bare module, not its DDP wrapper: ranks may run different numbers of
    batches here, and DDP's forward would try to synchronise them.
    """
    was_training = model.training
    model.eval()
    mine = list(range(env.rank, len(windows), env.world_size))
    nats = torch.zeros((), dtype=torch.float64, device=env.device)
    count = torch.zeros((), dtype=torch.float64, device=env.device)
    comp_sum: torch.Tensor | None = None
    window_nats = torch.zeros(len(windows) if per_window else 0, dtype=torch.float64, device=env.device)
    for start in range(0, len(mine), batch_size):
        idx = mine[start:start + batch_size]
        batch = torch.stack([windows[i] for i in idx])  # (b, L + 1)
        x, y = split_window(batch, env.device)
        with autocast_for(precision, env.device):
            out = model(x, targets=y)
        if per_window:  # (b, L) log-probabilities of the targets, summed per window
            logp = torch.log_softmax(out.logits.double(), dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
            window_nats[idx] = -logp.sum(dim=1)
        nats += out.ce_loss.double() * y.numel()
        count += y.numel()
        comp = torch.tensor(list(out.compression), dtype=torch.float64, device=env.device)
        comp_sum = comp * y.numel() if comp_sum is None else comp_sum + comp * y.numel()
        if progress is not None:  # (windows' bytes done, all of them): `hnet-bio evaluate`'s progress
            progress(min(start + batch_size, len(mine)) * batch.shape[1], len(mine) * batch.shape[1])
    n_stages = _broadcast_len(0 if comp_sum is None else comp_sum.numel(), env)
    if comp_sum is None:
        comp_sum = torch.zeros(n_stages, dtype=torch.float64, device=env.device)
    packed = all_reduce_sum(torch.cat([nats.view(1), count.view(1), comp_sum, window_nats]), env)
    model.train(was_training)
    total = packed[1].item()
    if total == 0:
        raise ValueError("the held-out split has no windows; lower train.seq_len or raise data.eval_fraction")
    per_bytes = total / len(windows)  # every window predicts the same number of bytes
    window_bpb = tuple(n / per_bytes / math.log(2) for n in packed[2 + n_stages:].tolist())
    return HeldOutScore(bits_per_byte=packed[0].item() / total / math.log(2), predicted_bytes=int(total),
                        bytes_per_chunk=tuple(c / total for c in packed[2:2 + n_stages].tolist()),
                        window_bpb=window_bpb)


def _broadcast_len(n: int, env: DistEnv) -> int:
    """Stage count as seen by any rank (a rank with no eval windows still must match shapes)."""
    t = torch.tensor([float(n)], device=env.device)
    if env.distributed:
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return int(t.item())
