"""The stand-in builders against the genetic code and naive counts."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.lm import HNetLM
from modalities.annotations import read_annotations
from modalities.iupac import reverse_complement
from pipelines.scoring.markov import MarkovScorer
from pipelines.scoring.validation import (
    CASSETTE,
    auroc,
    cassette_variants,
    codon_variants,
    report_markdown,
    translate,
    validate_genome,
)
from pipelines.scoring.variant_files import read_genome
from tests.paths import DATA

GBK = DATA / "leptospira_excerpt.gbk"


def test_genetic_code_spot_checks() -> None:
    assert [translate(c) for c in ("ATG", "TAA", "TAG", "TGA", "TGG", "GCT", "CTA")] == list("M***WAL")
    assert sum(translate("".join(c)) == "*" for c in itertools.product("ACGT", repeat=3)) == 3


def test_codon_variants_relabel_from_the_genome() -> None:
    genome, features = read_genome(GBK), read_annotations(GBK)
    cs = codon_variants(genome, features, 20, margin=10, seed=3)
    assert len(cs.variants) == 180 and set(cs.labels) <= {"synonymous", "missense", "nonsense"}
    cds = [f for f in features if f.type == "CDS"]
    for v, label in zip(cs.variants, cs.labels):
        seq = genome[v.chrom]
        assert chr(seq[v.pos]) == v.ref
        f = next(
            f
            for f in cds
            if f.record == v.chrom and f.start0 <= v.pos < f.end0 and (f.end0 - f.start0) % 3 == 0
        )
        gene = seq[f.start0 : f.end0].tobytes()
        mut = bytearray(gene)
        mut[v.pos - f.start0] = ord(v.alt)
        if f.strand == "-":
            gene, mut = reverse_complement(gene), reverse_complement(bytes(mut))
        k = (v.pos - f.start0) if f.strand == "+" else (f.end0 - 1 - v.pos)
        c = k // 3 * 3
        a, b = translate(gene[c : c + 3].decode()), translate(bytes(mut[c : c + 3]).decode())
        assert label == ("synonymous" if a == b else "nonsense" if b == "*" else "missense")


def test_cassette_sits_12_bases_after_the_start_codon() -> None:
    genome, features = read_genome(GBK), read_annotations(GBK)
    genic, inter = cassette_variants(genome, features, 10, margin=40)
    assert len(genic) == len(inter) > 0
    for v in genic:
        f = next(f for f in features if f.record == v.chrom and f.start0 <= v.pos < f.end0)
        seq = genome[v.chrom].tobytes()
        if f.strand == "+":
            mutated = seq[f.start0 : v.pos + 1] + v.alt[1:].encode() + seq[v.pos + 1 : f.end0]
            gene = mutated
        else:
            mutated = seq[f.start0 : v.pos + 1] + v.alt[1:].encode() + seq[v.pos + 1 : f.end0]
            gene = reverse_complement(mutated)
        assert gene[15:30].decode() == CASSETTE  # start codon + 12 bases, then the cassette


def test_auroc_matches_pair_counting() -> None:
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 30).astype(float), rng.integers(0, 5, 40).astype(float)
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    assert auroc(pos, neg) == pytest.approx(float(np.mean(pairs)))


def test_markov_matches_naive_counts() -> None:
    train = np.frombuffer(b"ACGTTGCAACGTACGGT", dtype=np.uint8)
    m = MarkovScorer(2, [train])
    text = train.tobytes() + b" " + reverse_complement(train.tobytes())
    row = np.frombuffer(b"ACGTA", dtype=np.uint8)
    want = 0.0
    for i in range(2, row.size):
        ctx = row[i - 2 : i].tobytes()
        n_ctx = [
            sum(text[j : j + 3] == ctx + b for j in range(len(text) - 2)) for b in (b"A", b"C", b"G", b"T")
        ]
        want += float(np.log2((n_ctx["ACGT".index(chr(row[i]))] + 0.5) / (sum(n_ctx) + 2)))
    assert m.row_ll(row) == pytest.approx(want)


def test_validate_genome_runs_every_scorer(tiny_checkpoints: Mapping[str, Path]) -> None:
    model, _ = load_pretrained(tiny_checkpoints["dna"])
    assert isinstance(model, HNetLM)
    genome, features = read_genome(GBK), read_annotations(GBK)
    markov = MarkovScorer(3, genome.values())
    rep = validate_genome(
        "lepto", genome, features, {"model": model}, markov, n_codons=6, n_genes=3, flank=16
    )
    assert sum(rep.codon_counts) == 54 and set(rep.codon_auroc) == {"model", "markov", "amino_acid_change"}
    assert rep.codon_auroc["amino_acid_change"][1] == 1.0  # the rule defines the labels
    assert set(rep.cassette_auroc) == {"model", "markov"} and rep.cassette_n[0] == rep.cassette_n[1] == 3
    grid = rep.codon_position["fixed-grid (every 4th base)"].boundary_after
    assert all(0.2 < g < 0.3 for g in grid)
    table = report_markdown([rep])
    assert "| model |" in table and "| markov |" in table
