"""One entry point for one process or many: read torchrun's environment, set up the process group.

Under ``torchrun --nproc_per_node=N`` the variables RANK, WORLD_SIZE and LOCAL_RANK are set and
we join a process group (nccl on GPU, gloo on CPU). Without them the same code runs as a single
process with world size 1, and every collective below is a no-op, so the training loop never
branches on "am I distributed?" beyond choosing to wrap the model in DDP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    """Who this process is; ``is_main`` decides who writes logs and checkpoints."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    initialized_here: bool = False  # we created the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` takes the GPU of this local rank when there is one, else the CPU."""
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def init_distributed(device: str = "auto") -> DistEnv:
    """Join torchrun's process group when WORLD_SIZE > 1; otherwise describe a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world <= 1:
        return DistEnv(0, 1, 0, dev, False)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    created = False
    if not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        created = True
    if dev.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # N processes on one host would each take every core and thrash; share them out.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return DistEnv(rank, world, local_rank, dev, created)


def shutdown(env: DistEnv) -> None:
    """Destroy the process group if ``init_distributed`` created it."""
    if env.initialized_here and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """Sum ``t`` over ranks in place (no-op on one process); returns ``t`` for chaining."""
    if env.distributed:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_reduce_mean(t: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """Mean of ``t`` over ranks (each rank contributes equally, e.g. per-rank mean losses)."""
    return all_reduce_sum(t, env).div_(env.world_size) if env.distributed else t


def any_rank(flag: bool, env: DistEnv) -> bool:
    """True if ``flag`` is true on any rank: every rank must take the same decision to stop."""
    if not env.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=env.device)
    return bool(all_reduce_sum(t, env).item() > 0)


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()

