"""Core speed, measured side by side in one process (ratios, not absolute times, are the result).

1. The chunked SSD scan vs the naive per-step recurrence (same inputs, same answers) at the
   sizes the small configs use; and chunk length 32/64/128/256 for the chunked scan.
2. Training step throughput (bytes/s, forward+backward) of small-1stage vs the FLOP-matched
   isotropic baselines, with the model's own FLOPs/byte estimate and the achieved GFLOP/s.

Example:
    .venv/bin/python benchmarks/core_speed.py --threads 2 --out benchmarks/results/core_speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hnet_bio import HNetConfig, build_model  # noqa: E402
from hnet_bio.layers.ssd import ssd_chunked, ssd_reference  # noqa: E402


def timed(fn, repeats: int) -> float:
    """Median seconds over `repeats` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def bench_ssd(length: int, repeats: int) -> dict:
    b, h, p, n = 4, 8, 32, 32  # small-1stage level 0: d_inner 256 = 8 heads x 32, d_state 32
    u, B, C = torch.randn(b, length, h, p), torch.randn(b, length, 1, n), torch.randn(b, length, 1, n)
    a = -torch.rand(b, length, h) * 0.5
    naive = timed(lambda: ssd_reference(u, a, B, C), max(1, repeats // 3))
    result = {"length": length, "naive_s": naive, "chunked": {}}
    for q in (32, 64, 128, 256):
        s = timed(lambda q=q: ssd_chunked(u, a, B, C, chunk_size=q), repeats)
        result["chunked"][q] = {"s": s, "speedup_vs_naive": naive / s}
    return result


def bench_train(config: str, batch: int, length: int, repeats: int) -> dict:
    model = build_model(HNetConfig.from_json(ROOT / "configs" / f"{config}.json"))
    x = torch.randint(0, 256, (batch, length + 1))

    def step() -> None:
        out = model(x[:, :-1], targets=x[:, 1:])
        out.loss.backward()

    s = timed(step, repeats)
    bytes_per_s = batch * length / s
    fpb = model.flops_per_byte(length)
    return {
        "config": config,
        "params": model.num_parameters(),
        "train_flops_per_byte": fpb,
        "bytes_per_s": bytes_per_s,
        "gflops_per_s": fpb * bytes_per_s / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    ssd = [bench_ssd(length, args.repeats) for length in (512, 2048)]
    print("SSD scan (b=4, heads=8, p=32, n=32): chunked speed-up over the naive recurrence")
    print(f"{'length':>7} {'naive ms':>9} " + " ".join(f"{'Q=' + str(q):>8}" for q in (32, 64, 128, 256)))
    for r in ssd:
        row = " ".join(f"{r['chunked'][q]['speedup_vs_naive']:>7.1f}x" for q in (32, 64, 128, 256))
        print(f"{r['length']:>7} {r['naive_s'] * 1e3:>9.1f} {row}")

    train = [
        bench_train(c, args.batch, args.length, args.repeats)
        for c in ("small-1stage", "isotropic-small", "isotropic-small-transformer")
    ]
    base = train[0]["bytes_per_s"]
    print(f"\nTraining step, batch {args.batch} x {args.length} bytes, {args.threads} thread(s)")
    print(f"{'config':<30} {'params':>9} {'MFLOP/byte':>11} {'bytes/s':>9} {'GFLOP/s':>8} {'vs H-Net':>9}")
    for r in train:
        print(
            f"{r['config']:<30} {r['params'] / 1e6:>8.2f}M {r['train_flops_per_byte'] / 1e6:>11.1f} "
            f"{r['bytes_per_s']:>9.0f} {r['gflops_per_s']:>8.2f} {r['bytes_per_s'] / base:>8.2f}x"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"torch": torch.__version__, "threads": args.threads, "machine": platform.machine()}
        args.out.write_text(json.dumps({"meta": meta, "ssd": ssd, "train": train}, indent=2) + "\n")


if __name__ == "__main__":
    main()
