"""Training throughput (forward + backward + AdamW step) of the H-Nets against FLOP-matched flat
baselines, at windows of 2k, 8k and 32k bytes, each row in a fresh process with its own peak RSS.

Rows: small-1stage and small-2stage (H-Net), isotropic-small (Mamba-2 only) and
isotropic-small-transformer (attention + SwiGLU), all about 10 MFLOP per byte at 1 kB. MFU is the
model's own FLOPs per byte (hnet_bio.flops) times bytes/s over an fp32 matmul peak measured in the
same run at the same thread count. A separate row measures the peak RSS of the small-1stage
8 x 1024 step, with and without Mamba-2 activation recomputation. Ratios are H-Net over baseline,
measured side by side in one run.

    python benchmarks/train_throughput.py            # full: windows 2k, 8k, 32k
    python benchmarks/train_throughput.py --quick    # windows 2k and 8k, 1 timed step, no small-2stage
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    RowParser,
    config_model,
    matmul_peak_gflops,
    peak_rss_gb,
    print_rows,
    ratio,
    run_row,
    save_run,
    timed,
)

CONFIGS = ["small-1stage", "small-2stage", "isotropic-small", "isotropic-small-transformer"]
TRANSFORMER, MAMBA = CONFIGS[3], CONFIGS[2]


def measure(row: dict[str, Any]) -> dict[str, Any]:
    """One training configuration in this (fresh) process."""
    model = config_model(row["config"], bool(row.get("recompute")))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(0, 256, (row["batch"], row["window"] + 1))

    def step() -> None:
        out = model(x[:, :-1], targets=x[:, 1:])
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    seconds = timed(step, row["repeats"], warmup=row.get("warmup", 1))
    bytes_per_s = row["batch"] * row["window"] / seconds
    fpb = model.flops_per_byte(row["window"])
    return {
        **row,
        "params": model.num_parameters(),
        "train_flops_per_byte": fpb,
        "step_s": seconds,
        "bytes_per_s": bytes_per_s,
        "gflops_per_s": fpb * bytes_per_s / 1e9,
        "peak_rss_gb": peak_rss_gb(),
    }


def main() -> None:
    ap = RowParser(__doc__, "windows 2k and 8k, one step per row, no 2-stage")
    ap.add_argument("--windows", type=int, nargs="*", help="override the window list")
    ap.add_argument("--bytes-per-step", type=int, default=None, help="default 8192 (2048 with --quick)")
    args, threads = ap.parse_or_run_row(measure)

    windows = args.windows or ([2048, 8192] if args.quick else [2048, 8192, 32768])
    repeats = 1 if args.quick else 2
    peak = matmul_peak_gflops()
    script = Path(__file__).resolve()
    rows = []
    memory_rows = [
        {"config": "small-1stage", "window": 1024, "batch": 8, "repeats": 1, "recompute": rc}
        for rc in (False, True)
    ]
    for row in memory_rows:
        rows.append(run_row(script, {**row, "kind": "memory"}, threads))
    for window in windows:
        batch = max(1, (args.bytes_per_step or (2048 if args.quick else 8192)) // window)
        for config in [c for c in CONFIGS if not (args.quick and c == "small-2stage")]:
            row = {"config": config, "window": window, "batch": batch, "repeats": repeats,
                   "warmup": 0 if window >= 32768 else 1}  # one 32k transformer step takes minutes
            rows.append(run_row(script, {**row, "kind": "throughput"}, threads))
    peak_after = matmul_peak_gflops()
    peak = max(peak, peak_after)  # the less disturbed of the two measurements

    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s at {threads} thread(s)")
    print(f"{'config':<28} {'window':>6} {'batch':>5} {'recomp':>6} {'bytes/s':>9} {'GFLOP/s':>8} "
          f"{'MFU':>6} {'peak RSS':>8}")
    for r in rows:
        if "error" not in r:
            r["mfu"] = r["gflops_per_s"] / peak
    print_rows(rows, lambda r: f"{r['config']:<28} {r['window']:>6} {r['batch']:>5} "
                               f"{r.get('recompute', False)!s:>6} {r['bytes_per_s']:>9.0f} "
                               f"{r['gflops_per_s']:>8.1f} {100 * r['mfu']:>5.1f}% {r['peak_rss_gb']:>7.2f}G",
               lambda r: f"{r['config']:<28} {r['window']:>6} {r['batch']:>5}  ")

    def get(config: str, window: int, key: str) -> float | None:
        for r in rows:
            if r["kind"] == "throughput" and r["config"] == config and r["window"] == window:
                return r.get(key)
        return None

    def speed(config: str, window: int) -> float | None:
        return get(config, window, "bytes_per_s")

    ratios: dict[str, Any] = {}
    for w, tag in ((2048, "2k"), (8192, "8k"), (32768, "32k")):
        ratios[f"train_vs_transformer_{tag}"] = ratio(speed("small-1stage", w), speed(TRANSFORMER, w))
        ratios[f"train_2stage_vs_transformer_{tag}"] = ratio(speed("small-2stage", w), speed(TRANSFORMER, w))
        ratios[f"train_vs_mamba2_{tag}"] = ratio(speed("small-1stage", w), speed(MAMBA, w))
    ratios["mfu"] = get("small-1stage", 8192, "mfu")
    ratios["mfu_transformer"] = get(TRANSFORMER, 8192, "mfu")
    ratios["peak_rss_gb"] = rows[0].get("peak_rss_gb")
    ratios["peak_rss_gb_recompute"] = rows[1].get("peak_rss_gb")
    path = save_run("train_throughput", threads, args.quick, ratios, rows, matmul_peak_gflops=peak)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
