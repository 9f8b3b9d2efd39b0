"""How much left context the windowed analysis needs: windows vs one full forward on real DNA.

    PYTHONPATH=. python benchmarks/analysis_windows.py --checkpoint CKPT [--bases 12000] [--out F.json]

Runs `pipelines.analysis.analyze` once over the whole stretch (one window) and then with each
window/stride pair, and reports the fraction of stage-0 boundary decisions equal to the full
forward, the largest probability difference, chunk counts and bytes/s. The sequence is the start
of tests/data/ecoli_MG1655_20kb.fa (E. coli MG1655, a strain held out of dna-bacteria training).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hnet_bio.checkpoint import load_pretrained
from modalities.dna import read_fasta
from pipelines.analysis import analyze

SETTINGS = [(4096, 3072), (2048, 1536), (1024, 768), (512, 384), (512, 512)]
GENOME = Path(__file__).resolve().parents[1] / "tests" / "data" / "ecoli_MG1655_20kb.fa"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--bases", type=int, default=12000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, meta = load_pretrained(args.checkpoint)
    seq = read_fasta(GENOME)[0].seq[: args.bases]
    t = time.perf_counter()
    full = analyze(model, seq, window=len(seq), stride=len(seq), batch_size=1)
    rows = [{"window": len(seq), "stride": len(seq), "bytes_per_s": len(seq) / (time.perf_counter() - t),
             "agree": 1.0, "chunks": full.chunk_count(0)}]
    for window, stride in SETTINGS:
        t = time.perf_counter()
        a = analyze(model, seq, window=window, stride=stride, batch_size=4)
        rows.append({"window": window, "stride": stride, "bytes_per_s": len(seq) / (time.perf_counter() - t),
                     "agree": float((a.boundary[0] == full.boundary[0]).mean()),
                     "max_abs_dp": float(np.nanmax(np.abs(a.boundary_prob[0] - full.boundary_prob[0]))),
                     "chunks": a.chunk_count(0)})
        print(rows[-1], flush=True)
    report = {"checkpoint": str(args.checkpoint), "step": meta.step, "bases": len(seq), "rows": rows}
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
