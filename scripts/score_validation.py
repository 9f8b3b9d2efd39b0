"""Run the zero-shot scoring stand-ins (pipelines/scoring/validation.py) on the Leptospira GenBank
and the E. coli GFF3 of any2fasta-examples, with the shipped model, a random-weights twin and an
order-k Markov model counted on the model's training split; print Markdown tables, write JSON.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/score_validation.py --codons 150 --genes 80 \
        --out docs/results/score_validation.json
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hnet_bio.atomic import atomic_write_json  # noqa: E402
from hnet_bio.lm import build_model  # noqa: E402
from modalities.annotations import read_annotations  # noqa: E402
from modalities.corpora import default_data_dir, open_corpus  # noqa: E402
from pipelines.inputs import load_model_for  # noqa: E402
from pipelines.scoring.markov import MarkovScorer  # noqa: E402
from pipelines.scoring.validation import report_markdown, validate_genome  # noqa: E402
from pipelines.scoring.variant_files import read_genome  # noqa: E402
from pipelines.scoring.windows import DEFAULT_FLANK  # noqa: E402

EXAMPLES = "pkgs/any2fasta-examples/usr/share/doc/any2fasta/examples"
GENOMES = {
    "Leptospira (GenBank, genus absent from training)": "test.gbk.gz",
    "E. coli draft (GFF3; E. coli strains are in training)": "test.gff.gz",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="dna-bacteria-small")
    ap.add_argument("--codons", type=int, default=150)
    ap.add_argument("--genes", type=int, default=80)
    ap.add_argument("--flank", type=int, default=DEFAULT_FLANK)
    ap.add_argument("--markov-order", type=int, default=6)
    ap.add_argument("--corpus", default="dna-bacteria", help="the checkpoint's training corpus")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    model, _ = load_model_for(args.checkpoint, "dna")
    torch.manual_seed(0)
    random_model = build_model(model.config).eval()
    t = time.perf_counter()
    corpus = open_corpus(args.corpus, "train")  # the split the shipped model was trained on
    markov = MarkovScorer(args.markov_order, (corpus.read(i) for i in range(len(corpus))))
    print(
        f"Markov order {args.markov_order} on {corpus.total_bytes:,} training bases (x2 strands) "
        f"in {time.perf_counter() - t:.0f} s",
        file=sys.stderr,
    )
    reports = []
    for name, file in GENOMES.items():
        path = default_data_dir() / EXAMPLES / file
        t = time.perf_counter()
        genome = read_genome(path)
        features = read_annotations(path)
        reports.append(
            validate_genome(
                name,
                genome,
                features,
                {"model": model, "random weights": random_model},
                markov,
                args.codons,
                args.genes,
                args.flank,
            )
        )
        print(f"{name}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    print(report_markdown(reports))
    if args.out is not None:
        atomic_write_json(
            args.out,
            {
                "args": vars(args) | {"out": str(args.out)},
                "reports": [dataclasses.asdict(r) for r in reports],
            },
        )


if __name__ == "__main__":
    main()
