"""Step decoding speed: H-Net against an isotropic Transformer of equal parameters, batch 1 and 8.

Both decode greedily through the public `hnet_bio.generation.stream` (prefill once, then one O(1)
step per byte); the first yield is the prefill and is timed apart. The H-Net's inner network runs
only on the bytes where its router fires, so its per-byte cost depends on the router: with
`--checkpoint` a trained model is used (its compression is reported), otherwise an untrained one.
The Transformer baseline has global attention and the same number of layers' worth of parameters
(d 192, SwiGLU 512, as many blocks as match the H-Net's parameter count). Each (model, batch) row
runs in a fresh process with its own peak RSS.

    python benchmarks/generate.py [--checkpoint runs/.../checkpoints/step-N] [--quick]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, RowParser, peak_rss_gb, print_rows, ratio, run_row, save_run

from hnet_bio import HNetConfig, build_model
from hnet_bio.generation import SamplingConfig, stream
from hnet_bio.lm import HNetLM


def transformer_config(params: int) -> HNetConfig:
    """An isotropic T-only model (d 192) whose parameter count is closest to `params`."""
    base = {
        "d_model": [192], "d_intermediate": [512], "vocab_size": 256,
        "attn_cfg": {"num_heads": [6], "rotary_emb_dim": [16], "window_size": [-1]},
        "hnet_bio": {"ratio_loss_weight": 0.0, "lr_multiplier": [1.0]},
    }
    counts = {}
    for n in range(1, 17):
        cfg = HNetConfig.from_dict({**base, "arch_layout": [f"T{n}"]})
        counts[n] = build_model(cfg).num_parameters()
    best = min(counts, key=lambda n: abs(counts[n] - params))
    return HNetConfig.from_dict({**base, "arch_layout": [f"T{best}"]})


def load(row: dict[str, Any]) -> torch.nn.Module:
    torch.manual_seed(0)
    if row.get("checkpoint"):
        hnet = HNetLM.from_pretrained(row["checkpoint"])
    else:
        hnet = build_model(HNetConfig.from_json(ROOT / "configs" / f"{row['hnet_config']}.json"))
    if row["model"] == "hnet":
        return hnet
    return build_model(transformer_config(hnet.num_parameters()))


def measure(row: dict[str, Any]) -> dict[str, Any]:
    model = load(row).eval()
    gen = torch.Generator().manual_seed(0)
    alphabet = torch.tensor(list(b"ACGT"))
    prompts = [bytes(alphabet[torch.randint(0, 4, (row["prompt"],), generator=gen)].tolist())
               for _ in range(row["batch"])]
    config = SamplingConfig(greedy=True, max_new_bytes=row["new"])
    list(stream(model, [p[:32] for p in prompts], SamplingConfig(greedy=True, max_new_bytes=4)))  # warm-up
    it = stream(model, prompts, config)
    t0 = time.perf_counter()
    next(it)  # prefill + first sample
    t1 = time.perf_counter()
    steps = sum(1 for _ in it)
    t2 = time.perf_counter()
    result = {
        **row, "params": model.num_parameters(), "layout": model.config.arch_layout,
        "prefill_bytes_per_s": row["batch"] * row["prompt"] / (t1 - t0),
        "decode_bytes_per_s": row["batch"] * steps / (t2 - t1), "peak_rss_gb": peak_rss_gb(),
    }
    if isinstance(model, HNetLM):  # how often the router fires on the prompts (bytes per chunk)
        with torch.no_grad():
            out = model(torch.tensor([list(p) for p in prompts]))
        result["compression"] = out.compression
    return result


def main() -> None:
    ap = RowParser(__doc__, "32 new bytes after a 256-byte prompt")
    ap.add_argument("--config", default="small-1stage", help="H-Net config when no checkpoint")
    ap.add_argument("--checkpoint", help="a trained HNetLM checkpoint directory")
    args, threads = ap.parse_or_run_row(measure)
    script = Path(__file__).resolve()
    prompt, new = (256, 32) if args.quick else (1024, 256)
    rows = []
    for batch in (1, 8):
        for model in ("hnet", "transformer"):
            row = {"model": model, "batch": batch, "prompt": prompt, "new": new,
                   "hnet_config": args.config, "checkpoint": args.checkpoint}
            rows.append(run_row(script, row, threads))

    print(f"Step decoding (greedy, prompt {prompt}, {new} new bytes), {threads} thread(s)")
    print(f"{'model':<12} {'layout':<22} {'params':>7} {'batch':>5} {'prefill B/s':>11} {'decode B/s':>10} "
          f"{'peak RSS':>8}")
    print_rows(rows, lambda r: f"{r['model']:<12} {json.dumps(r['layout']):<22} {r['params'] / 1e6:>6.2f}M "
                               f"{r['batch']:>5} {r['prefill_bytes_per_s']:>11.0f} "
                               f"{r['decode_bytes_per_s']:>10.1f} {r['peak_rss_gb']:>7.2f}G",
               lambda r: f"{r['model']:<12} batch {r['batch']}: ")
    speed = {(r["model"], r["batch"]): r.get("decode_bytes_per_s") for r in rows}
    ratios = {
        f"decode_vs_transformer_b{b}": ratio(speed[("hnet", b)], speed[("transformer", b)]) for b in (1, 8)
    }
    path = save_run("generate", threads, args.quick, ratios, rows)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
