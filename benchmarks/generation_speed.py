"""Generation speed: step decoding (prefill + O(1) steps) vs recomputing the full forward per byte.

Both decoders run greedy on the same model and prompt in one process, side by side, and must
produce the same bytes (a correctness check on top of the timing). Prints a table; --out writes
JSON. Besides wall time it records the process's CPU time for prefill and steps (`*_cpu_*`),
which other jobs on a shared machine disturb far less (with --threads 1 the two agree on an idle
machine). Any tree can be timed with this script: PYTHONPATH decides which `hnet_bio` it imports.
Example:

    .venv/bin/python benchmarks/generation_speed.py --config configs/small-2stage.json \\
        --prompt-len 512 --new-bytes 64 --threads 1
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from hnet_bio import HNetConfig, build_model
from hnet_bio.incremental import prefill, step

ROOT = Path(__file__).resolve().parents[1]


@torch.no_grad()
def decode_with_steps(
    model, prompt: torch.Tensor, new: int
) -> tuple[torch.Tensor, float, float, tuple[float, float]]:
    """prompt (B, P) -> generated (B, new), prefill seconds, decode seconds (wall, then CPU)."""
    t0, c0 = time.perf_counter(), time.process_time()
    logits, state = prefill(model, prompt)
    nxt = logits[:, -1].argmax(-1)
    t1, c1 = time.perf_counter(), time.process_time()
    out = [nxt]
    for _ in range(new - 1):
        nxt = step(model, nxt, state).argmax(-1)
        out.append(nxt)
    cpu = (c1 - c0, time.process_time() - c1)
    return torch.stack(out, 1), t1 - t0, time.perf_counter() - t1, cpu


@torch.no_grad()
def decode_by_recomputing(model, prompt: torch.Tensor, new: int) -> tuple[torch.Tensor, float]:
    """The naive decoder: one full forward over everything so far for every new byte."""
    t0 = time.perf_counter()
    seq = prompt
    for _ in range(new):
        nxt = model(seq).logits[:, -1].argmax(-1)
        seq = torch.cat([seq, nxt[:, None]], 1)
    return seq[:, prompt.shape[1]:], time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs" / "small-2stage.json"))
    ap.add_argument("--prompt-len", type=int, default=512)
    ap.add_argument("--new-bytes", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = build_model(HNetConfig.from_json(args.config)).to(getattr(torch, args.dtype)).eval()
    prompt = torch.randint(0, 256, (args.batch, args.prompt_len))

    decode_with_steps(model, prompt[:, :16], 4)  # warm-up
    gen_step, t_prefill, t_steps, (c_prefill, c_steps) = decode_with_steps(model, prompt, args.new_bytes)
    gen_full, t_full = decode_by_recomputing(model, prompt, args.new_bytes)
    n = args.batch * args.new_bytes
    result = {
        "config": str(args.config), "params": model.num_parameters(), "batch": args.batch,
        "prompt_len": args.prompt_len, "new_bytes": args.new_bytes, "threads": args.threads,
        "dtype": args.dtype, "torch": torch.__version__, "machine": platform.machine(),
        "prefill_s": t_prefill, "prefill_bytes_per_s": args.batch * args.prompt_len / t_prefill,
        "step_bytes_per_s": n / (t_prefill + t_steps), "step_only_bytes_per_s": n / max(t_steps, 1e-9),
        "prefill_cpu_s": c_prefill, "step_only_cpu_bytes_per_s": n / max(c_steps, 1e-9),
        "recompute_bytes_per_s": n / t_full, "same_bytes": bool(torch.equal(gen_step, gen_full)),
    }
    result["speedup"] = result["step_bytes_per_s"] / result["recompute_bytes_per_s"]
    print(f"{Path(args.config).name}: {result['params'] / 1e6:.2f}M params, batch {args.batch}, "
          f"prompt {args.prompt_len}, {args.new_bytes} new bytes, {args.threads} thread(s), {args.dtype}")
    print(f"  step decoding (incl. prefill): {result['step_bytes_per_s']:10.1f} bytes/s")
    print(f"  recompute full forward:        {result['recompute_bytes_per_s']:10.1f} bytes/s")
    print(f"  CPU time: prefill {c_prefill * 1e3:.1f} ms, steps alone "
          f"{result['step_only_cpu_bytes_per_s']:.1f} bytes/s")
    print(f"  speedup {result['speedup']:.1f}x; identical greedy bytes: {result['same_bytes']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
