"""Where one training step's time and memory go, per component (torch.profiler + module scopes).

Each module's forward runs inside a `record_function` scope named for its component (mamba2,
attention, mlp, routing, chunk, dechunk, ...); the scan inside Mamba-2 has its own scopes. Backward
ops are attributed to their autograd node names (e.g. `BmmBackward0`). The optimizer step is timed
in its own scope. Peak RSS of the process is read from the OS after the step.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_step.py --config small-1stage --threads 1
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import config_model  # noqa: E402

from hnet_bio.dc import ChunkLayer, DeChunkLayer, RoutingModule  # noqa: E402
from hnet_bio.layers.attention import CausalMHA  # noqa: E402
from hnet_bio.layers.mamba2 import Mamba2  # noqa: E402
from hnet_bio.layers.mlp import SwiGLU  # noqa: E402
from hnet_bio.layers.norm import RMSNorm  # noqa: E402

COMPONENTS = {
    Mamba2: "mamba2",
    CausalMHA: "attention",
    SwiGLU: "mlp",
    RoutingModule: "routing",
    ChunkLayer: "chunk",
    DeChunkLayer: "dechunk",
    RMSNorm: "rmsnorm",
}


def components(model: torch.nn.Module) -> Iterator[tuple[torch.nn.Module, str]]:
    """The model's modules that are a component of COMPONENTS, with the component's name."""
    for module in model.modules():
        name = COMPONENTS.get(type(module))
        if name is not None:
            yield module, name


def add_scopes(model: torch.nn.Module) -> None:
    """Wrap each component's forward in a profiler scope (forward hooks enter/exit it)."""
    for module, name in components(model):

        def pre(mod, args, name=name):
            mod._scope = record_function(f"fwd:{name}")
            mod._scope.__enter__()

        def post(mod, args, out):
            mod._scope.__exit__(None, None, None)

        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)


def saved_by_component(model: torch.nn.Module, x: torch.Tensor) -> dict[str, float]:
    """MB of tensors autograd saves for backward in one forward, by the component that saved them
    (each storage counted once, at its first saver)."""
    stack = ["other"]
    handles = []
    for module, name in components(model):
        handles.append(module.register_forward_pre_hook(lambda mod, args, name=name: stack.append(name)))
        handles.append(module.register_forward_hook(lambda mod, args, out: (stack.pop(), None)[1]))
    seen: set[int] = set()
    sizes: dict[str, float] = defaultdict(float)

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            sizes[stack[-1]] += storage.nbytes() / 2**20
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x[:, :-1], targets=x[:, 1:])
    for h in handles:
        h.remove()
    return dict(sizes)


def print_times(title: str, times: dict[str, float], total: float, rows: int | None = None) -> None:
    """A titled list of profiler times (microseconds), largest first, with their share of `total`."""
    print(f"\n{title}")
    for key, us in sorted(times.items(), key=lambda kv: -kv[1])[:rows]:
        print(f"  {key:<28} {us / 1e3:9.1f} ms  {100 * us / total:5.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small-1stage")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=25)
    ap.add_argument("--recompute", action="store_true", help="recompute Mamba-2 activations in backward")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = config_model(args.config, args.recompute)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, 256, (args.batch, args.length + 1))

    def step() -> None:  # the scopes cost nothing measurable outside the profiler
        with record_function("forward"):
            out = model(x[:, :-1], targets=x[:, 1:])
        with record_function("backward"):
            out.loss.backward()
        with record_function("optimizer"):
            opt.step()
            opt.zero_grad(set_to_none=True)

    step()  # warm-up (allocator, lazy init)
    t = time.perf_counter()
    step()
    wall = time.perf_counter() - t
    saved = saved_by_component(model, x)
    add_scopes(model)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    scopes = {e.key: e.cpu_time_total for e in events if e.key.startswith(("fwd:", "forward", "backward",
                                                                             "optimizer"))}
    print(f"{args.config} batch {args.batch} x {args.length}, {args.threads} thread(s): "
          f"step {wall:.2f} s unprofiled, {args.batch * args.length / wall:.0f} bytes/s; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")
    print_times("scope (inclusive CPU time; fwd:* nest inside forward)", scopes, total)
    bwd = defaultdict(float)
    for e in events:
        if e.key.startswith("autograd::engine::evaluate_function: "):
            bwd[e.key.split(": ", 1)[1]] += e.cpu_time_total
    print_times("backward by autograd node (inclusive)", bwd, total, args.rows)
    print(f"\nactivations saved for backward: {sum(saved.values()):.0f} MB")
    for key, mb in sorted(saved.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<28} {mb:9.1f} MB")
    print("\nops by self CPU time and self memory allocated")
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
