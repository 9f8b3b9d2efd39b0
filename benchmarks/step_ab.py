"""A/B of one training step between two source trees, alternating fresh processes to share the noise.

Each trial runs, in a fresh process per tree, 8 x 1024 small-1stage training steps (forward,
backward, AdamW) and reports the fastest step and the peak RSS; trials alternate A, B, A, B, ...
so background load hits both alike. The `before` tree is e.g. an older commit unpacked with
`git archive COMMIT hnet_bio configs | tar -x -C /tmp/base`.

    python benchmarks/step_ab.py --before /tmp/base --after . --trials 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, resource, sys, time, torch
torch.set_num_threads({threads})
from hnet_bio import HNetConfig, build_model
m = build_model(HNetConfig.from_json('configs/{config}.json'))
{recompute}
opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
x = torch.randint(0, 256, (8, 1025))
best = 1e9
for _ in range({steps}):
    t = time.perf_counter()
    m(x[:, :-1], targets=x[:, 1:]).loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    best = min(best, time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({{"step_s": best, "peak_rss_gb": rss}}))
"""


def run(tree: Path, args: argparse.Namespace, recompute: bool) -> dict:
    code = CHILD.format(
        threads=args.threads, config=args.config, steps=args.steps,
        recompute="from hnet_bio.recompute import set_recompute; set_recompute(m, True)" if recompute else "",
    )
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, default=Path("."))
    ap.add_argument("--config", default="small-1stage")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--recompute", action="store_true", help="also time the after tree with recomputation")
    args = ap.parse_args()
    variants = [("before", args.before.resolve(), False), ("after", args.after.resolve(), False)]
    if args.recompute:
        variants.append(("after+recompute", args.after.resolve(), True))
    results: dict[str, list[dict]] = {name: [] for name, _, _ in variants}
    for _ in range(args.trials):
        for name, tree, rc in variants:
            results[name].append(run(tree, args, rc))
    summary = {}
    for name, rows in results.items():
        ok = [r for r in rows if "error" not in r]
        best = min((r["step_s"] for r in ok), default=None)
        rss = max((r["peak_rss_gb"] for r in ok), default=None)
        speed = 8192 / best if best else None
        summary[name] = {"best_step_s": best, "bytes_per_s": speed, "peak_rss_gb": rss}
        print(f"{name:<16} best step {best:.2f} s  {8192 / best:7.0f} bytes/s  peak RSS {rss:.2f} GB")
    base = summary["before"]["best_step_s"]
    for name, s in summary.items():
        if s["best_step_s"]:
            print(f"{name:<16} speed-up over before: {base / s['best_step_s']:.2f}x")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
