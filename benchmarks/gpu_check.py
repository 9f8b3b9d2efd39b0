"""On a CUDA machine: the pure-PyTorch and the fused (mamba-ssm, flash-attn) paths side by side.

For small-1stage (bf16 autocast, the precision the fused kernels run in) it times a training step
(forward + backward + AdamW) and an inference forward of the analysis path's shape, on the pure
path (`HNET_BIO_PURE=1` semantics, switched in-process) and on the fused path where the packages
import, and checks the two agree: logits and the loss within bf16 tolerance, identical boundary
decisions on at least 99% of bytes. Prints a table and writes benchmarks/results/gpu_check.json.
On a machine without CUDA it says so and exits 0 (scripts/gpu_check.sh calls it).

    python benchmarks/gpu_check.py [--config small-1stage] [--batch 8] [--length 8192]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import config_model, save_run

from hnet_bio import kernels


def cuda_time(fn: Callable[[], Any], repeats: int = 5) -> float:
    """Median seconds of `fn` on the GPU (synchronised), after two warm-up calls."""
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def run_path(model: torch.nn.Module, x: torch.Tensor, pure: bool) -> dict[str, Any]:
    """Train-step and forward timings plus the outputs to compare, on one path."""
    os.environ["HNET_BIO_PURE"] = "1" if pure else "0"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(x[:, :-1], targets=x[:, 1:])
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def forward() -> Any:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            return model(x[:, :-1], targets=x[:, 1:])

    out = forward()  # before any optimizer step: both paths see the same weights
    result = {
        "logits": out.logits.float().cpu(), "loss": float(out.loss),
        "bounds": [s.boundary_mask.cpu() for s in out.stages],
        "forward_s": cuda_time(forward), "train_step_s": cuda_time(train_step, repeats=3),
        "peak_gpu_gb": torch.cuda.max_memory_allocated() / 2**30,
    }
    torch.cuda.reset_peak_memory_stats()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small-1stage")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=8192)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False): nothing to compare")
        return 0
    fused = kernels.available()
    print(f"device: {torch.cuda.get_device_name()}; fused kernels importable: {fused}")
    state = config_model(args.config).state_dict()
    x = torch.randint(0, 256, (args.batch, args.length + 1), device="cuda")
    rows: dict[str, dict[str, Any]] = {}
    for name, pure in (("pure", True), ("fused", False)):
        if name == "fused" and not any(fused.values()):
            print("fused: skipped (neither mamba_ssm nor flash_attn imports)")
            continue
        model = config_model(args.config).cuda()
        model.load_state_dict(state)
        rows[name] = run_path(model, x, pure)
    bytes_per_step = args.batch * args.length
    print(f"{'path':<6} {'train step s':>12} {'train B/s':>12} {'forward s':>10} {'infer B/s':>12} "
          f"{'peak GB':>8}")
    for name, r in rows.items():
        print(f"{name:<6} {r['train_step_s']:>12.4f} {bytes_per_step / r['train_step_s']:>12,.0f} "
              f"{r['forward_s']:>10.4f} {bytes_per_step / r['forward_s']:>12,.0f} {r['peak_gpu_gb']:>8.2f}")
    agree: dict[str, Any] = {}
    ok = True
    if "fused" in rows:
        p, f = rows["pure"], rows["fused"]
        agree = {
            "max_abs_logit_diff": float((p["logits"] - f["logits"]).abs().max()),
            "loss_pure": p["loss"], "loss_fused": f["loss"],
            "boundary_agreement": [float((a == b).float().mean()) for a, b in zip(p["bounds"], f["bounds"])],
        }
        ok = abs(p["loss"] - f["loss"]) < 0.02 * abs(p["loss"]) and all(
            a >= 0.99 for a in agree["boundary_agreement"])
        print(f"agreement: {agree} -> {'OK' if ok else 'MISMATCH'}")
    ratios = {name: {"train_bytes_per_s": bytes_per_step / r["train_step_s"],
                     "infer_bytes_per_s": bytes_per_step / r["forward_s"], "peak_gpu_gb": r["peak_gpu_gb"]}
              for name, r in rows.items()}
    save_run("gpu_check", 0, False, {**ratios, "agreement": agree, "agree_ok": ok}, [],
             device=torch.cuda.get_device_name(), fused=fused)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
