"""One row per run directory under a sweep folder: parameters, final held-out bits/byte, speed.

Usage: python scripts/sweep_table.py runs/sweep-v2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(run: Path) -> str:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    evals = [x for x in lines if x.get("kind") == "eval"]
    trains = [x for x in lines if x.get("kind") == "train"]
    if not evals or not trains:
        return f"| {run.name} | (unfinished) | | | |"
    last = evals[-1]
    cfg = json.loads((run / "pretrain_config.json").read_text())
    rates = [x["bytes_per_s"] for x in trains if x.get("bytes_per_s")]
    rate = sorted(rates)[len(rates) // 2] / 1000 if rates else float("nan")
    early = next((x["compression"] for x in trains if x.get("compression")), None)
    chunk = last.get("eval_compression") or ["-"]
    return (f"| {run.name} | {cfg['train']['lr']:g} | {last['eval_bpb']:.4f} | "
            f"{early[0] if early else '-'} | {chunk[0]} | {rate:.2f} |")


def main(folder: str) -> None:
    print("| run | lr | held-out bits/base at the end | bytes/chunk, first log | at the end | median kB/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in sorted(p for p in Path(folder).iterdir() if (p / "metrics.jsonl").is_file()):
        print(row(run))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/sweep-v2")
