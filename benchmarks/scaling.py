"""Training-step time and peak memory against sequence length, H-Net against a flat Transformer.

One sequence (batch 1) of length 1k, 2k, ... 64k bytes, forward + backward, each (model, length)
in a fresh process so the peak RSS is that row's own. The H-Net (small-1stage) should grow about
linearly: its byte-level layers are Mamba-2 and its attention runs on ~L/4 chunks. The FLOP-matched
Transformer (isotropic-small-transformer) has global attention over all L bytes and grows
quadratically in time (its memory stays near-linear: the CPU attention kernel is flash-style); it
is stopped at --max-transformer (default 16k) because each doubling costs it ~4x. The H-Net
recomputes its Mamba-2 activations in backward (`--no-recompute` keeps them; at 64k bytes they
would take ~12 GB). Writes benchmarks/results/scaling.json and scaling.png (log-log).

    python benchmarks/scaling.py [--quick]     # --quick: 1k..8k
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, RowParser, config_model, peak_rss_gb, ratio, run_row, save_run, timed

MODELS = {"hnet": "small-1stage", "transformer": "isotropic-small-transformer"}


def measure(row: dict[str, Any]) -> dict[str, Any]:
    model = config_model(MODELS[row["model"]], bool(row.get("recompute")))
    x = torch.randint(0, 256, (1, row["length"] + 1))

    def step() -> None:
        model.zero_grad(set_to_none=True)
        model(x[:, :-1], targets=x[:, 1:]).loss.backward()

    seconds = timed(step, 1, warmup=1 if row["length"] <= 8192 else 0)
    return {**row, "step_s": seconds, "bytes_per_s": row["length"] / seconds, "peak_rss_gb": peak_rss_gb()}


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for model, style in (("hnet", "o-"), ("transformer", "s--")):
        sel = [r for r in rows if r["model"] == model and "error" not in r]
        lengths = [r["length"] for r in sel]
        axes[0].loglog(lengths, [r["step_s"] for r in sel], style, base=2, label=f"{model} ({MODELS[model]})")
        axes[1].loglog(lengths, [r["peak_rss_gb"] for r in sel], style, base=2, label=model)
    ref = [r for r in rows if r["model"] == "hnet" and "error" not in r]
    if ref:
        l0, t0 = ref[0]["length"], ref[0]["step_s"]
        ls = [r["length"] for r in ref]
        axes[0].loglog(ls, [t0 * x / l0 for x in ls], ":", color="gray", base=2, label="linear")
        axes[0].loglog(ls, [t0 * (x / l0) ** 2 for x in ls], ":", color="black", base=2, label="quadratic")
    axes[0].set(xlabel="sequence length (bytes)", ylabel="forward + backward (s)", title="time per step")
    axes[1].set(xlabel="sequence length (bytes)", ylabel="peak RSS (GB)", title="memory (whole process)")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def main() -> None:
    ap = RowParser(__doc__, "lengths 1k..8k")
    ap.add_argument("--max-length", type=int, default=65536)
    ap.add_argument("--max-transformer", type=int, default=16384)
    ap.add_argument("--no-recompute", action="store_true",
                    help="keep the H-Net's Mamba-2 activations (default: recompute them, see recompute.py)")
    args, threads = ap.parse_or_run_row(measure)
    top = 8192 if args.quick else args.max_length
    lengths = [2**k for k in range(10, 17) if 2**k <= top]
    script = Path(__file__).resolve()
    rows = []
    for length in lengths:
        for model in MODELS:
            if model == "transformer" and length > args.max_transformer:
                continue
            recompute = model == "hnet" and not args.no_recompute
            rows.append(run_row(script, {"model": model, "length": length, "recompute": recompute}, threads))

    print(f"Training step (forward + backward), batch 1, {threads} thread(s)")
    print(f"{'length':>7} {'H-Net s':>9} {'H-Net RSS':>9} {'Transf. s':>9} {'Tr. RSS':>8} "
          f"{'Tr./H-Net time':>14}")
    by = {(r["model"], r["length"]): r for r in rows}
    for length in lengths:
        h, t = by.get(("hnet", length), {}), by.get(("transformer", length), {})
        cells = [f"{h.get('step_s', float('nan')):>9.3f}", f"{h.get('peak_rss_gb', float('nan')):>8.2f}G",
                 f"{t.get('step_s', float('nan')):>9.3f}", f"{t.get('peak_rss_gb', float('nan')):>7.2f}G",
                 f"{ratio(t.get('step_s'), h.get('step_s')) or float('nan'):>14.2f}"]
        print(f"{length:>7} " + " ".join(cells))

    def growth(model: str) -> float | None:
        """Time exponent between the shortest and longest length measured: 1 linear, 2 quadratic."""
        sel = sorted((r for r in rows if r["model"] == model and "error" not in r), key=lambda r: r["length"])
        if len(sel) < 2:
            return None
        first, last = sel[0], sel[-1]
        exponent = math.log(last["step_s"] / first["step_s"]) / math.log(last["length"] / first["length"])
        return round(exponent, 3)

    ratios = {"time_exponent_hnet": growth("hnet"), "time_exponent_transformer": growth("transformer")}
    common = [length for length in lengths if ("transformer", length) in by and ("hnet", length) in by]
    if common:
        last = common[-1]
        ratios[f"hnet_speedup_at_{last // 1024}k"] = ratio(by[("transformer", last)].get("step_s"),
                                                           by[("hnet", last)].get("step_s"))
    png = RESULTS / "scaling.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(rows, png)
    path = save_run("scaling", threads, args.quick, ratios, rows)
    print(f"wrote {path} and {png}")


if __name__ == "__main__":
    main()
