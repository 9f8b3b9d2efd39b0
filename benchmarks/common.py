"""Shared helpers of the benchmark scripts: timing, peak RSS, fresh-process rows, the fp32 matmul
peak, thread choice and the JSON results file (written atomically)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from hnet_bio.threads import choose_threads, load_average, oversubscription_warning, usable_cores  # noqa: E402


def setup_threads(requested: int | None) -> int:
    """Set torch's intra-op threads (chosen from the load when not given) and warn if oversubscribed."""
    n = choose_threads(requested)
    torch.set_num_threads(n)
    warning = oversubscription_warning(n)
    if warning:
        print(warning, file=sys.stderr)
    return n


def config_model(config: str, recompute: bool = False) -> torch.nn.Module:
    """configs/CONFIG.json built under torch seed 0 (the same weights in every row's process), with
    Mamba-2 activation recomputation when asked."""
    from hnet_bio import HNetConfig, build_model
    from hnet_bio.recompute import set_recompute

    torch.manual_seed(0)
    model = build_model(HNetConfig.from_json(ROOT / "configs" / f"{config}.json"))
    if recompute:
        set_recompute(model, True)
    return model


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Fastest of `repeats` calls after `warmup` calls, in seconds (the least disturbed by other load)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def matmul_peak_gflops(repeats: int = 5, n: int = 1024) -> float:
    """Achieved fp32 GFLOP/s of a square matmul at the current thread count (the MFU denominator)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / timed(lambda: a @ b, repeats) / 1e9


def run_row(script: Path, row: dict[str, Any], threads: int, timeout: float = 3600) -> dict[str, Any]:
    """Run one benchmark row in a fresh Python process (so its peak RSS is its own) and return the
    JSON dict it prints on its last line; {"error": ...} if it failed."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(script), "--row", json.dumps(row), "--threads", str(threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**row, "error": f"timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode < 0:  # e.g. SIGKILL from the kernel's out-of-memory killer
        return {**row, "error": f"killed by signal {-proc.returncode} (9 is usually out of memory)"}
    if proc.returncode != 0 or not lines:
        errors = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("warning:")]
        return {**row, "error": (errors or [f"exit status {proc.returncode}, no output"])[-1]}
    return json.loads(lines[-1])


class RowParser(argparse.ArgumentParser):
    """The options every fresh-process benchmark shares: --quick, --threads and the internal --row
    (run one row and print its JSON; `run_row` passes it). The script adds its own, then calls
    `parse_or_run_row`."""

    def __init__(self, doc: str, quick_help: str) -> None:
        super().__init__(description=doc.splitlines()[0])
        self.add_argument("--quick", action="store_true", help=quick_help)
        self.add_argument("--threads", type=int, default=None, help="default: cores not already busy")
        self.add_argument("--row", help=argparse.SUPPRESS)

    def parse_or_run_row(
        self, measure: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> tuple[argparse.Namespace, int]:
        """Parse the command line and set the threads; a child started by `run_row` measures its row,
        prints it as JSON and exits 0 here, the parent gets (args, threads)."""
        args = self.parse_args()
        threads = setup_threads(args.threads)
        if args.row:
            print(json.dumps(measure(json.loads(args.row))))
            sys.exit(0)
        return args, threads


def meta(threads: int, quick: bool) -> dict[str, Any]:
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": usable_cores(),
        "load_average_at_start": round(load_average(), 2),
        "threads": threads,
        "quick": quick,
        "gpu": torch.cuda.is_available(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """benchmarks/results/NAME.json, written atomically (meta.quick says which mode wrote it)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=RESULTS, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path


def ratio(num: float | None, den: float | None) -> float | None:
    return None if not num or not den else round(num / den, 4)


def save_run(name: str, threads: int, quick: bool, ratios: dict[str, Any], rows: list[dict[str, Any]],
             **extra_meta: Any) -> Path:
    """Print the headline ratios and write results/NAME.json (meta plus ``extra_meta``, ratios, rows)."""
    print("ratios:", json.dumps(ratios))
    payload = {"meta": {**meta(threads, quick), **extra_meta}, "ratios": ratios, "rows": rows}
    return write_results(name, payload)


def print_rows(rows: list[dict[str, Any]], line: Callable[[dict[str, Any]], str],
               failed: Callable[[dict[str, Any]], str]) -> None:
    """The rows of a results table: ``line(row)``, or for a row whose process failed ``failed(row)``
    (the columns that name it) followed by its error."""
    for r in rows:
        print(f"{failed(r)}error: {r['error']}" if "error" in r else line(r))
