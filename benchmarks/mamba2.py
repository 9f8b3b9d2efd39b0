"""Our Mamba-2 layer against Hugging Face transformers' pure-PyTorch `Mamba2Mixer` fallback.

Same weights (the parameter names match, so one state_dict loads into both), batch 1, forward +
backward, each (implementation, size) in a fresh process with its own peak RSS. Agreement of the
outputs and of every gradient (input and parameters) is checked in float64 at each size; note that
the transformers fallback runs its scan in float32 whatever the input dtype, which bounds how
close the two can be. Sizes: D=128/L=4k and D=256/L=8k; the layer uses its defaults (d_state 128,
headdim 64, expand 2, chunk 256), as a new user would.

    pip install -e .[bench]                  # transformers
    python benchmarks/mamba2.py [--quick]    # --quick: one timed repeat per row
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RowParser, peak_rss_gb, print_rows, ratio, run_row, save_run, timed

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
    model = build(row["impl"], d, torch.float32)
    x = torch.randn(1, length, d, generator=gen).requires_grad_()
    w = torch.randn(1, length, d, generator=gen)
    seconds = timed(lambda: fwd_bwd(model, x, w), row["repeats"])
    return {**row, "fwd_bwd_s": seconds, "bytes_per_s": length / seconds, "peak_rss_gb": peak_rss_gb()}


def main() -> None:
    ap = RowParser(__doc__, "one timed repeat per row")
    args, threads = ap.parse_or_run_row(measure)
    script = Path(__file__).resolve()
    repeats = 1 if args.quick else 3
    rows = []
    for d, length in SIZES:
        rows.append(run_row(script, {"kind": "agree", "d": d, "length": length}, threads))
        for impl in ("ours", "transformers"):
            row = {"kind": "speed", "impl": impl, "d": d, "length": length, "repeats": repeats}
            rows.append(run_row(script, row, threads))

    print(f"Mamba-2 layer forward + backward, batch 1, fp32, {threads} thread(s)")
    print(f"{'impl':<13} {'D':>4} {'L':>6} {'fwd+bwd s':>10} {'peak RSS':>8}   agreement (float64)")
    ratios: dict[str, Any] = {}
    for d, length in SIZES:
        sel = {r.get("impl", "agree"): r for r in rows if r["d"] == d and r["length"] == length}
        print_rows([sel["ours"], sel["transformers"]],
                   lambda r: f"{r['impl']:<13} {r['d']:>4} {r['length']:>6} {r['fwd_bwd_s']:>10.3f} "
                             f"{r['peak_rss_gb']:>7.2f}G",
                   lambda r: f"{r['impl']:<13} {r['d']:>4} {r['length']:>6}  ")
        agree = sel["agree"]
        print(f"{'':<13} {d:>4} {length:>6}   max relative difference of output and grads: "
              f"{agree.get('max_rel_diff', agree.get('error'))}")
        tag = f"{length // 1024}k"
        ours_s, hf_s = sel["ours"].get("fwd_bwd_s"), sel["transformers"].get("fwd_bwd_s")
        ratios[f"mamba2_vs_transformers_{tag}"] = ratio(hf_s, ours_s)
        ratios[f"mamba2_agreement_{tag}"] = agree.get("max_rel_diff")
    path = save_run("mamba2", threads, args.quick, ratios, rows)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
