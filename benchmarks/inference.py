"""Forward-only speed of the analysis path (boundaries, embed, classify, the browser): bytes/s by
batch size, threads against worker processes, torch.compile's cold and warm cost, MFU, and the
wall-clock of `hnet-bio boundaries` on 500 kb of a real genome, extrapolated to 5 Mb.

Every row runs in a fresh process (its own peak RSS). The forward rows time
`pipelines.analysis.analyze` over real DNA (E. coli MG1655, tests/data, cycled) with the shipped
`dna-bacteria-small`; "analysed bytes/s" counts each input byte once, "model bytes/s" also the
bytes the overlapping windows compute twice. MFU is the model's forward FLOPs per byte
(hnet_bio.flops, matmuls and attention only) times model bytes/s over the fp32 matmul peak
measured in this run, per core used: `inference_mfu` is the default forward on one core,
`inference_mfu_genome_2cores` the whole `boundaries` run on both (start-up and output included).
The genome row runs the real command (probabilities + BED) as a user would, on the first 500 kb
of MG1655-K12 from the fetched data, with the default workers.

    python benchmarks/inference.py            # forward rows over 256 kB, 3 repeats
    python benchmarks/inference.py --quick    # forward rows over 64 kB, 1 repeat
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, RowParser, matmul_peak_gflops, peak_rss_gb, print_rows, ratio, run_row, save_run

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.compilation import compile_byte_level
from hnet_bio.shipped import local_or_shipped
from modalities.dna import read_fasta
from pipelines.analysis import analyze
from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW, plan_windows

MODEL = "dna-bacteria-small"
SAMPLE = ROOT / "tests" / "data" / "ecoli_MG1655_20kb.fa"
GENOME = (ROOT / "data" / "pkgs" / "ragout-examples" / "usr" / "share" / "doc" / "ragout" / "examples"
          / "E.Coli" / "references" / "MG1655-K12.fasta.gz")
GENOME_BYTES = 500_000


def dna(n: int) -> bytes:
    seq = bytes(read_fasta(SAMPLE)[0].seq)
    return (seq * (1 + n // len(seq)))[:n]


def overlap_factor(n: int) -> float:
    """Model bytes per analysed byte for the default windows over n bytes."""
    return sum(w.end - w.start for w in plan_windows(n, DEFAULT_WINDOW, DEFAULT_STRIDE)) / n


def measure(row: dict[str, Any]) -> dict[str, Any]:
    """One forward configuration in this (fresh) process."""
    model, _ = load_pretrained(local_or_shipped(MODEL))
    seq = dna(row["bytes"])
    opts = {"batch_size": row["batch"], "workers": row["workers"]}
    extra: dict[str, Any] = {}
    if row.get("compile"):
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = row["cache_dir"]  # empty for the cold row, filled for warm
        t = time.perf_counter()
        compile_byte_level(model)
        analyze(model, seq[: DEFAULT_WINDOW * row["batch"]], **opts)  # the first call compiles
        extra["compile_first_call_s"] = round(time.perf_counter() - t, 1)
    else:
        analyze(model, seq[: DEFAULT_WINDOW * row["batch"]], **opts)  # warm-up (allocator, workers' code)
    best = float("inf")
    for _ in range(row["repeats"]):
        t = time.perf_counter()
        analyze(model, seq, **opts)
        best = min(best, time.perf_counter() - t)
    analysed = len(seq) / best
    model_rate = analysed * overlap_factor(len(seq))
    fpb = model.flops_per_byte(DEFAULT_WINDOW, training=False)
    cores = row["threads"] * row["workers"]
    return {**row, **extra, "analysed_bytes_per_s": round(analysed), "model_bytes_per_s": round(model_rate),
            "gflops_per_s": round(fpb * model_rate / 1e9, 2),
            "mfu": round(fpb * model_rate / 1e9 / (row["peak_gflops_1t"] * cores), 4),
            "peak_rss_gb": round(peak_rss_gb(), 2)}


def genome_sample(path: Path) -> Path:
    """The first GENOME_BYTES bases of MG1655 as a one-record FASTA (the tests' 20 kb, cycled, when
    the fetched data is absent)."""
    seq = bytes(read_fasta(GENOME)[0].seq)[:GENOME_BYTES] if GENOME.exists() else dna(GENOME_BYTES)
    lines = [seq[i : i + 80].decode("ascii") for i in range(0, len(seq), 80)]
    path.write_text(">MG1655_500kb\n" + "\n".join(lines) + "\n")
    return path


def genome_run(threads: int | None) -> dict[str, Any]:
    """`hnet-bio boundaries` with probabilities on 500 kb, wall clock, as a user runs it."""
    with tempfile.TemporaryDirectory() as tmp:
        fasta = genome_sample(Path(tmp) / "g.fa")
        cmd = [sys.executable, "-m", "pipelines", "boundaries", "--checkpoint", MODEL, "--fasta", str(fasta),
               "--out", f"{tmp}/g.bed", "--probs", f"{tmp}/g.bedgraph"]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        if threads is not None:
            env["OMP_NUM_THREADS"] = str(threads)
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t
    if proc.returncode != 0:
        return {"kind": "genome", "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return {"kind": "genome", "bytes": GENOME_BYTES, "wall_s": round(wall, 1),
            "bytes_per_s": round(GENOME_BYTES / wall), "minutes_per_5mb": round(wall * 10 / 60, 2)}


def main() -> None:
    parser = RowParser(__doc__, "forward rows over 64 kB with 1 repeat (the genome row is the same)")
    parser.add_argument("--no-genome", action="store_true", help="skip the 500 kb `boundaries` run")
    args, threads = parser.parse_or_run_row(measure)
    peak = matmul_peak_gflops()
    n, repeats = (65_536, 1) if args.quick else (262_144, 3)
    base = {"kind": "forward", "bytes": n, "repeats": repeats, "peak_gflops_1t": round(peak, 1)}
    script = Path(__file__)
    cache = tempfile.mkdtemp(prefix="inductor-")  # a fresh compile cache: the first compile row is cold
    configs = [
        {"batch": 8, "threads": 1, "workers": 1},  # the old default
        {"batch": 2, "threads": 1, "workers": 1},
        {"batch": 2, "threads": 2, "workers": 1},
        {"batch": 2, "threads": 1, "workers": 2},  # the default on an idle 2-core machine
        {"batch": 2, "threads": 1, "workers": 1, "compile": True, "cache_dir": cache},
        {"batch": 2, "threads": 1, "workers": 1, "compile": True, "cache_dir": cache, "second_process": True},
    ]
    rows = [run_row(script, {**base, **c}, c["threads"]) for c in configs]
    shutil.rmtree(cache, ignore_errors=True)
    if not args.no_genome:
        rows.append(genome_run(None))
    print(f"fp32 matmul peak (1 thread): {peak:.1f} GFLOP/s")
    print(f"{'batch':>5} {'threads':>7} {'workers':>7} {'compile':>7} {'analysed B/s':>12} {'model B/s':>10} "
          f"{'MFU':>6} {'RSS GB':>6}")
    forward = [r for r in rows if r.get("kind") == "forward"]
    print_rows(forward, lambda r: f"{r['batch']:>5} {r['threads']:>7} {r['workers']:>7} "
               f"{('warm' if r.get('second_process') else 'cold') if r.get('compile') else '-':>7} "
               f"{r['analysed_bytes_per_s']:>12,} {r['model_bytes_per_s']:>10,} {r['mfu']:>6.1%} "
               f"{r['peak_rss_gb']:>6.2f}" + (f"  first call {r['compile_first_call_s']} s"
                                              if r.get("compile") else ""),
               lambda r: f"{r['batch']:>5} {r['threads']:>7} {r['workers']:>7}  ")
    genome = next((r for r in rows if r.get("kind") == "genome"), None)
    if genome is not None:
        told = (f"error: {genome['error']}" if "error" in genome else
                f"{genome['wall_s']} s, {genome['bytes_per_s']:,} B/s, {genome['minutes_per_5mb']} min/5 Mb")
        print(f"boundaries on {GENOME_BYTES:,} bases: {told}")

    def rate(i: int) -> float | None:
        return forward[i].get("analysed_bytes_per_s")

    fpb = forward[1]["gflops_per_s"] * 1e9 / forward[1]["model_bytes_per_s"] if "mfu" in forward[1] else None
    genome_mfu = None
    if fpb and genome is not None and "bytes_per_s" in genome:  # both cores, start-up and writing included
        genome_mfu = round(fpb * genome["bytes_per_s"] * overlap_factor(GENOME_BYTES) / 1e9 / (2 * peak), 4)
    ratios = {
        "inference_mfu": forward[1].get("mfu"),  # the default forward (2 x 4 kB windows) on one core
        "inference_mfu_genome_2cores": genome_mfu,
        "genome_5mb_minutes": None if genome is None else genome.get("minutes_per_5mb"),
        "batch2_vs_batch8": ratio(rate(1), rate(0)),
        "two_threads_vs_one": ratio(rate(2), rate(1)),
        "two_workers_vs_one": ratio(rate(3), rate(1)),
        "compiled_vs_eager": ratio(rate(5), rate(1)),
        "compile_cold_s": forward[4].get("compile_first_call_s"),
        "compile_warm_cache_s": forward[5].get("compile_first_call_s"),
    }
    path = save_run("inference", threads, args.quick, ratios, rows, matmul_peak_gflops=peak)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
