"""Where the forward-only analysis path's time goes, per component (torch.profiler + module scopes).

This is the pass `hnet-bio boundaries`, `embed`, `evaluate`, `classify` and the browser run: the
model in inference mode over a batch of windows, no targets. Component scopes are the ones
`profile_step.py` uses; ops are listed by self CPU time.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_forward.py --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_step import add_scopes, print_times

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.shipped import local_or_shipped
from modalities.dna import read_fasta

GENOME = Path(__file__).resolve().parents[1] / "tests" / "data" / "ecoli_MG1655_20kb.fa"


def dna_windows(batch: int, length: int) -> torch.Tensor:
    """(batch, length) byte ids of real DNA (E. coli MG1655, 20 kb, cycled): the router's chunk count,
    and so the inner network's length, depends on the bytes, so random bytes would mislead."""
    seq = bytes(read_fasta(GENOME)[0].seq)
    seq = seq * (1 + batch * length // len(seq))
    step = (len(seq) - length) // max(1, batch)
    rows = [list(seq[i * step : i * step + length]) for i in range(batch)]
    return torch.tensor(rows, dtype=torch.long)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="dna-bacteria-small", help="a checkpoint dir or shipped name")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=25)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_pretrained(local_or_shipped(args.checkpoint))
    model.eval()
    x = dna_windows(args.batch, args.length)
    mask = torch.ones_like(x, dtype=torch.bool)

    def forward() -> None:
        with torch.inference_mode(), record_function("forward"):
            model(x, mask=mask)

    forward()  # warm-up
    t = time.perf_counter()
    forward()
    wall = time.perf_counter() - t
    add_scopes(model)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        forward()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    with torch.inference_mode():
        inner = model(x, mask=mask).stages[0].boundary_mask.sum().item() / args.batch
    print(f"{args.checkpoint} batch {args.batch} x {args.length}, {args.threads} thread(s): "
          f"forward {wall:.2f} s unprofiled, {args.batch * args.length / wall:,.0f} bytes/s; "
          f"{inner:.0f} chunks per window")
    scopes = {e.key: e.cpu_time_total for e in events if e.key.startswith(("fwd:", "forward"))}
    print_times("scope (inclusive CPU time)", scopes, total)
    print("\nops by self CPU time")
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
