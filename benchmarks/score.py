"""Zero-shot scoring speed (`hnet-bio score`): variants per second and ISM seconds per kb with the
shipped small DNA model, through the library functions the command calls.

Rows: random SNVs (plus a few indels) on the 20 kb E. coli test slice scored with full forwards
at the default flank (63) and, on fewer variants, with prefix-state reuse (same numbers; their
largest difference is reported) and other flanks; an ISM of a region, extrapolated to 1 kb.
Ratios: ``variants_per_s`` (default path, default flank), ``ism_s_per_kb`` (wall clock), the
same per CPU second of this process and its worker processes (`cpu_seconds`: on a shared machine
the wall clock counts the other jobs too), and each against the issue's goal (>= 20 variants/s, a 1 kb ISM in
< 300 s on the 2-core machine).

    python benchmarks/score.py [--quick] [--threads 1] [--checkpoint dna-bacteria-small]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, peak_rss_gb, ratio, save_run, setup_threads

from pipelines.inputs import load_model_for
from pipelines.scoring.ism import saturation_mutagenesis
from pipelines.scoring.variant_files import read_genome
from pipelines.scoring.variants import score_variants
from pipelines.scoring.windows import DEFAULT_FLANK, Variant

FASTA = ROOT / "tests" / "data" / "ecoli_MG1655_20kb.fa"
GOAL_VARIANTS_PER_S = 20.0
GOAL_ISM_S_PER_KB = 300.0


def cpu_seconds() -> float:
    """CPU time of this process plus its finished children (the scoring workers, `hnet_bio.workers`,
    are waited for at the end of each call, so their time is counted once the call returns)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def random_variants(genome: dict[str, np.ndarray], n: int, seed: int = 0) -> list[Variant]:
    """n variants at random positions 200 bases from either end: 90% SNVs, 10% short indels."""
    rng = np.random.default_rng(seed)
    chrom = next(iter(genome))
    seq = genome[chrom].tobytes().decode()
    out = []
    for pos in np.sort(rng.choice(np.arange(200, len(seq) - 200), n, replace=False)).tolist():
        ref = seq[pos]
        if rng.random() < 0.9:
            out.append(Variant(chrom, pos, ref, str(rng.choice([b for b in "ACGT" if b != ref]))))
        elif rng.random() < 0.5:
            out.append(Variant(chrom, pos, seq[pos:pos + 4], ref))
        else:
            out.append(Variant(chrom, pos, ref, ref + "".join(rng.choice(list("ACGT"), 3))))
    return out


def variant_row(model: Any, genome: dict[str, np.ndarray], variants: list[Variant], flank: int,
                reuse: bool, batch: int) -> tuple[dict[str, Any], np.ndarray]:
    warm = variants[:batch // 4]  # one batch first: allocations and lazy set-up are not timed
    score_variants(model, genome, warm, flank=flank, batch_size=batch, reuse_prefix=reuse)
    t, c = time.perf_counter(), cpu_seconds()
    scores = score_variants(model, genome, variants, flank=flank, batch_size=batch, reuse_prefix=reuse)
    dt, dc = time.perf_counter() - t, cpu_seconds() - c
    row = {"row": "variants", "path": "prefix_reuse" if reuse else "full_forward", "flank": flank,
           "variants": len(variants), "batch_size": batch, "seconds": round(dt, 2),
           "cpu_seconds": round(dc, 2),
           "variants_per_s": round(len(variants) / dt, 2), "variants_per_cpu_s": round(len(variants) / dc, 2),
           "peak_rss_gb": peak_rss_gb()}
    print(row, flush=True)
    return row, np.array([s.dll for s in scores])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 variants, a 100-base ISM")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--checkpoint", default="dna-bacteria-small")
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    threads = setup_threads(args.threads)
    model, _ = load_model_for(args.checkpoint, "dna")
    genome = read_genome(FASTA)
    n, n_reuse, ism_len = (200, 48, 100) if args.quick else (1000, 200, 1000)
    variants = random_variants(genome, n)
    rows = []
    main_row, full = variant_row(model, genome, variants, DEFAULT_FLANK, False, args.batch_size)
    rows.append(main_row)
    reuse_row, reused = variant_row(model, genome, variants[:n_reuse], DEFAULT_FLANK, True, args.batch_size)
    reuse_row["max_abs_diff_vs_full_bits"] = float(np.nanmax(np.abs(reused - full[:n_reuse])))
    rows.append(reuse_row)
    for flank in (31, 64, 127) if not args.quick else (31, 64):  # 64: one base past two SSD chunks
        rows.append(variant_row(model, genome, variants[:n_reuse], flank, False, args.batch_size)[0])
    chrom = next(iter(genome))
    t, c = time.perf_counter(), cpu_seconds()
    saturation_mutagenesis(model, genome, chrom, 5000, 5000 + ism_len, DEFAULT_FLANK, args.batch_size)
    dt, dc = time.perf_counter() - t, cpu_seconds() - c
    ism = {"row": "ism", "bases": ism_len, "flank": DEFAULT_FLANK, "seconds": round(dt, 2),
           "cpu_seconds": round(dc, 2), "s_per_kb": round(dt * 1000 / ism_len, 1),
           "cpu_s_per_kb": round(dc * 1000 / ism_len, 1), "peak_rss_gb": peak_rss_gb()}
    print(ism, flush=True)
    rows.append(ism)
    ratios = {
        "variants_per_s": main_row["variants_per_s"],
        "ism_s_per_kb": ism["s_per_kb"],
        "variants_per_cpu_s": main_row["variants_per_cpu_s"],  # less disturbed by other load than wall time
        "ism_cpu_s_per_kb": ism["cpu_s_per_kb"],
        "variants_per_s_vs_goal_20": ratio(main_row["variants_per_s"], GOAL_VARIANTS_PER_S),
        "ism_goal_300s_vs_s_per_kb": ratio(GOAL_ISM_S_PER_KB, ism["s_per_kb"]),
        "prefix_reuse_speed_vs_full": ratio(reuse_row["variants_per_s"], main_row["variants_per_s"]),
    }
    save_run("score", threads, args.quick, ratios, rows, checkpoint=args.checkpoint, fasta=str(FASTA.name))


if __name__ == "__main__":
    main()
