"""Our Mamba-2 layer against Hugging Face transformers' pure-PyTorch `Mamba2Mixer` fallback.

Same weights (the parameter names match, so one state_dict loads into both), batch 1, forward +
backward. Timing protocol (two earlier runs disagreed by 2x at 8k when each implementation ran in
its own process minutes apart, under changing load): both implementations live in ONE process and
alternate, ours then theirs then ours..., for `pairs` rounds after a warm-up of each; the ratio is
of the two medians, and the spread of the per-round ratios (min, max) is reported beside it, so a
disturbed round shows instead of hiding in one number. Peak RSS comes from a separate fresh process
per (implementation, size) that runs one forward + backward. Agreement of the
outputs and of every gradient (input and parameters) is checked in float64 at each size; note that
the transformers fallback runs its scan in float32 whatever the input dtype, which bounds how
close the two can be. Sizes: D=128/L=4k and D=256/L=8k; the layer uses its defaults (d_state 128,
headdim 64, expand 2, chunk 256), as a new user would.

    pip install -e .[bench]                  # transformers
    python benchmarks/mamba2.py [--quick]    # --quick: one timed repeat per row
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RowParser, peak_rss_gb, ratio, run_row, save_run

from hnet_bio.layers.mamba2 import Mamba2

SIZES = [(128, 4096), (256, 8192)]


def build(impl: str, d: int, dtype: torch.dtype, seed: int = 0) -> torch.nn.Module:
    """Our layer with seeded weights, or the transformers mixer carrying exactly those weights."""
    torch.manual_seed(seed)
    ours = Mamba2(d).to(dtype)
    if impl == "ours":
        return ours
    import transformers.utils.logging as hf_logging
    from transformers import Mamba2Config
    from transformers.models.mamba2.modeling_mamba2 import Mamba2Mixer

    hf_logging.set_verbosity_error()  # it warns that the fused kernels are missing: that is the point
    cfg = Mamba2Config(
        hidden_size=d, state_size=ours.d_state, expand=2, n_groups=ours.ngroups, conv_kernel=ours.d_conv,
        head_dim=ours.headdim, num_heads=ours.nheads, chunk_size=ours.chunk_size, use_bias=False,
        use_conv_bias=True, layer_norm_epsilon=ours.norm.eps, num_hidden_layers=1,
    )
    hf = Mamba2Mixer(cfg, 0).to(dtype)
    hf.load_state_dict(ours.state_dict(), strict=True)
    return hf


def fwd_bwd(model: torch.nn.Module, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    y = model(x)
    (y * w).sum().backward()
    return y


def measure(row: dict[str, Any]) -> dict[str, Any]:
    d, length = row["d"], row["length"]
    gen = torch.Generator().manual_seed(1)
    if row["kind"] == "agree":  # float64, both implementations, outputs and all gradients
        x = torch.randn(1, length, d, generator=gen, dtype=torch.float64)
        w = torch.randn(1, length, d, generator=gen, dtype=torch.float64)
        outs = {}
        for impl in ("ours", "transformers"):
            model = build(impl, d, torch.float64)
            xi = x.clone().requires_grad_()
            y = fwd_bwd(model, xi, w)
            outs[impl] = {"output": y.detach(), "input": xi.grad} | {
                n: p.grad for n, p in model.named_parameters()
            }
        rel = {
            k: float((outs["ours"][k] - v).abs().max() / v.abs().max().clamp(min=1e-300))
            for k, v in outs["transformers"].items()
        }
        return {**row, "max_rel_diff": max(rel.values()), "rel_diff": rel, "peak_rss_gb": peak_rss_gb()}
    x = torch.randn(1, length, d, generator=gen).requires_grad_()
    w = torch.randn(1, length, d, generator=gen)
    if row["kind"] == "memory":
        fwd_bwd(build(row["impl"], d, torch.float32), x, w)
        return {**row, "peak_rss_gb": peak_rss_gb()}
    models = {impl: build(impl, d, torch.float32) for impl in ("ours", "transformers")}
    times: dict[str, list[float]] = {impl: [] for impl in models}
    for model in models.values():  # warm-up: allocator, lazy initialisation
        fwd_bwd(model, x, w)
    for _ in range(row["pairs"]):
        for impl, model in models.items():
            t = time.perf_counter()
            fwd_bwd(model, x, w)
            times[impl].append(time.perf_counter() - t)
    per_round = [hf / ours for ours, hf in zip(times["ours"], times["transformers"])]
    medians = {f"{impl}_s": statistics.median(t) for impl, t in times.items()}
    return {**row, **medians, "ratio_min": min(per_round), "ratio_max": max(per_round), "times": times}


def main() -> None:
    ap = RowParser(__doc__, "3 alternating rounds per size instead of 7")
    args, threads = ap.parse_or_run_row(measure)
    script = Path(__file__).resolve()
    pairs = 3 if args.quick else 7
    rows = []
    for d, length in SIZES:
        rows.append(run_row(script, {"kind": "agree", "d": d, "length": length}, threads))
        rows.append(run_row(script, {"kind": "speed", "d": d, "length": length, "pairs": pairs}, threads))
        for impl in ("ours", "transformers"):
            rows.append(run_row(script, {"kind": "memory", "impl": impl, "d": d, "length": length}, threads))

    print(f"Mamba-2 layer forward + backward, batch 1, fp32, {threads} thread(s), {pairs} alternating rounds")
    print(f"{'D':>4} {'L':>6} {'ours s':>8} {'theirs s':>8} {'ratio':>6} {'(min-max)':>11} "
          f"{'RSS ours/theirs':>16}   agreement (float64)")
    ratios: dict[str, Any] = {}
    for d, length in SIZES:
        sel = {(r["kind"], r.get("impl")): r for r in rows if r["d"] == d and r["length"] == length}
        speed, agree = sel[("speed", None)], sel[("agree", None)]
        mem = [sel[("memory", impl)].get("peak_rss_gb", float("nan")) for impl in ("ours", "transformers")]
        tag = f"{length // 1024}k"
        if "error" in speed:
            print(f"{d:>4} {length:>6}  error: {speed['error']}")
        else:
            r = ratio(speed["transformers_s"], speed["ours_s"])
            print(f"{d:>4} {length:>6} {speed['ours_s']:>8.3f} {speed['transformers_s']:>8.3f} {r:>6.2f} "
                  f"({speed['ratio_min']:.2f}-{speed['ratio_max']:.2f}) {mem[0]:>7.2f}/{mem[1]:.2f} GB   "
                  f"{agree.get('max_rel_diff', agree.get('error'))}")
            ratios[f"mamba2_vs_transformers_{tag}"] = r
            ratios[f"mamba2_vs_transformers_{tag}_range"] = [round(speed["ratio_min"], 3),
                                                             round(speed["ratio_max"], 3)]
        ratios[f"mamba2_agreement_{tag}"] = agree.get("max_rel_diff")
    path = save_run("mamba2", threads, args.quick, ratios, rows)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
