"""One row per run directory under a sweep folder: learning rate, final held-out bits/byte, bytes
per chunk at the first log and at the end, median training speed.

Usage: python scripts/sweep_table.py runs/sweep-v2
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from pipelines.runs.run_dir import RunDir
from pipelines.training.train_config import read_config


def row(path: Path) -> str:
    run = RunDir(path)
    evals, trains = run.eval_records(), run.train_records()
    if not evals or not trains:
        return f"| {path.name} | (unfinished) | | | | |"
    last = evals[-1]
    rates = [t.bytes_per_s for t in trains if t.bytes_per_s]
    rate = statistics.median(rates) / 1000 if rates else float("nan")
    early = next((t.compression[0] for t in trains if t.compression), None)
    chunk = last.eval_compression[0] if last.eval_compression else None
    lr = read_config(path).train.lr
    return (f"| {path.name} | {lr:g} | {last.eval_bpb:.4f} | {early if early is not None else '-'} | "
            f"{chunk if chunk is not None else '-'} | {rate:.2f} |")


def main(folder: str) -> None:
    print("| run | lr | held-out bits/base at the end | bytes/chunk, first log | at the end | median kB/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in sorted(p for p in Path(folder).iterdir() if RunDir(p).metrics_path.is_file()):
        print(row(path))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/sweep-v2")
