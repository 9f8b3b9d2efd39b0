"""What the scores mean, on offline stand-ins built from annotated genomes (no labels needed).

1. Codon substitutions: every SNV of sampled CDS codons, labelled synonymous / missense / nonsense
   by the genetic code (translation table 11 = the standard code for these labels); AUROC of
   -delta for nonsense vs synonymous and missense vs synonymous.
2. Stop cassette (dnaHNet's protocol): TAATAATAATAGTGA inserted 12 bases after each sampled gene's
   start codon, in the gene's orientation, vs the same insertion at intergenic positions.
3. Codon position: the fraction of codons with a stage-0 boundary after codon position 1, 2, 3,
   and the mean per-base log-likelihood at each codon position, over plus-strand CDS read forward.

Every table shows baselines beside the model: an order-k Markov delta-LL counted on the model's
training split (both strands), the same architecture with random weights, and the
amino-acid-change rule (for 1; it defines the labels, so it is the ceiling, reported as such).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from modalities.annotations import Feature
from modalities.iupac import reverse_complement as rc_bytes
from pipelines.scoring.likelihood import Model, row_log_probs
from pipelines.scoring.markov import MarkovScorer
from pipelines.scoring.variants import score_variants
from pipelines.scoring.windows import Variant, site_for, variant_status

# The standard genetic code, codons in TCAG order (TTT, TTC, TTA, TTG, TCT, ...).
_AA = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
_IDX = {b: i for i, b in enumerate("TCAG")}
CASSETTE = "TAATAATAATAGTGA"


def translate(codon: str) -> str:
    """One codon (ACGT) -> its amino acid letter, '*' for a stop."""
    return _AA[16 * _IDX[codon[0]] + 4 * _IDX[codon[1]] + _IDX[codon[2]]]


def _cds(features: Sequence[Feature], genome: dict[str, np.ndarray], margin: int) -> list[Feature]:
    """CDS with a whole number of codons, ACGT only, at least ``margin`` bases from the record ends."""
    out = []
    for f in features:
        seq = genome.get(f.record)
        if seq is None or f.strand not in "+-" or (f.end0 - f.start0) % 3 or f.end0 - f.start0 < 90:
            continue
        if (
            f.start0 < margin
            or f.end0 + margin > seq.size
            or not set(seq[f.start0 : f.end0].tobytes()) <= set(b"ACGT")
        ):
            continue
        out.append(f)
    return out


def _gene_seq(genome: dict[str, np.ndarray], f: Feature) -> str:
    s = genome[f.record][f.start0 : f.end0].tobytes()
    return (s if f.strand == "+" else rc_bytes(s)).decode()


def _genome_pos(f: Feature, k: int) -> int:
    """Gene-orientation offset k -> 0-based forward genome position."""
    return f.start0 + k if f.strand == "+" else f.end0 - 1 - k


def _forward(base: str, f: Feature) -> str:
    return base if f.strand == "+" else rc_bytes(base.encode()).decode()


@dataclass
class CodonSet:
    variants: list[Variant]
    labels: list[str]  # synonymous / missense / nonsense


def codon_variants(
    genome: dict[str, np.ndarray], features: Sequence[Feature], n_codons: int, margin: int, seed: int = 0
) -> CodonSet:
    """All 9 SNVs of ``n_codons`` random internal codons (not the first or last) of random CDS."""
    rng = np.random.default_rng(seed)
    cds = _cds(features, genome, margin)
    variants, labels = [], []
    for gi in rng.integers(0, len(cds), n_codons):
        f = cds[int(gi)]
        gene = _gene_seq(genome, f)
        c = 3 * int(rng.integers(1, len(gene) // 3 - 1))
        codon = gene[c : c + 3]
        aa = translate(codon)
        for j in range(3):
            for b in "ACGT":
                if b == codon[j]:
                    continue
                mut = translate(codon[:j] + b + codon[j + 1 :])
                labels.append("synonymous" if mut == aa else "nonsense" if mut == "*" else "missense")
                pos = _genome_pos(f, c + j)
                variants.append(Variant(f.record, pos, _forward(codon[j], f), _forward(b, f)))
    return CodonSet(variants, labels)


def cassette_variants(
    genome: dict[str, np.ndarray], features: Sequence[Feature], n: int, margin: int, seed: int = 0
) -> tuple[list[Variant], list[Variant]]:
    """(genic, intergenic) insertions of `CASSETTE`: after gene base 14 (12 bases past the start
    codon) in the gene's orientation; at random positions >= 50 bases from any CDS, random strand."""
    rng = np.random.default_rng(seed)
    cds = _cds(features, genome, margin)
    genic = []
    for gi in rng.choice(len(cds), min(n, len(cds)), replace=False):
        f = cds[int(gi)]
        seq = genome[f.record]
        if f.strand == "+":
            p = f.start0 + 14  # insertion between gene bases 14 and 15
            genic.append(Variant(f.record, p, chr(seq[p]), chr(seq[p]) + CASSETTE))
        else:
            p = f.end0 - 16  # gene base 15 sits at end0 - 16: insert before it in gene orientation
            genic.append(
                Variant(f.record, p, chr(seq[p]), chr(seq[p]) + rc_bytes(CASSETTE.encode()).decode())
            )
    covered = {r: np.zeros(s.size, dtype=bool) for r, s in genome.items()}
    for f in features:
        if f.record in covered:
            covered[f.record][max(0, f.start0 - 50) : f.end0 + 50] = True
    inter: list[Variant] = []
    records = [r for r in genome if (~covered[r][margin:-margin]).any()]
    while records and len(inter) < len(genic):
        r = records[int(rng.integers(len(records)))]
        free = np.flatnonzero(~covered[r][margin:-margin]) + margin
        p = int(free[int(rng.integers(free.size))])
        ins = CASSETTE if rng.random() < 0.5 else rc_bytes(CASSETTE.encode()).decode()
        inter.append(Variant(r, p, chr(genome[r][p]), chr(genome[r][p]) + ins))
    return genic, inter


def markov_deltas(
    markov: MarkovScorer, genome: dict[str, np.ndarray], variants: Sequence[Variant], flank: int
) -> np.ndarray:
    """Strand-mean Markov delta of each variant (NaN where it cannot be scored)."""
    out = np.full(len(variants), np.nan)
    for i, v in enumerate(variants):
        if variant_status(v, genome, flank) == "ok":
            out[i] = markov.site_deltas([site_for(genome, v.chrom, v.pos, v.ref, (v.alt,), flank)])[0][0]
    return out


def model_deltas(
    model: Model, genome: dict[str, np.ndarray], variants: Sequence[Variant], flank: int, batch_size: int = 64
) -> np.ndarray:
    return np.array([s.dll for s in score_variants(model, genome, variants, flank, batch_size)])


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties half (Mann-Whitney); NaNs dropped."""
    pos, neg = pos[~np.isnan(pos)], neg[~np.isnan(neg)]
    if not pos.size or not neg.size:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(allv.size)
    sorted_v = allv[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_v, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


@dataclass
class CodonPosition:
    """Per codon position 1, 2, 3: fraction of codons with a stage-0 boundary after it, and the
    mean log2 p of the base at it; for one segmentation (boundaries) or model (both)."""

    boundary_after: list[float] = field(default_factory=list)
    mean_log2p: list[float] = field(default_factory=list)


@torch.no_grad()
def codon_position_stats(
    model: Model,
    genome: dict[str, np.ndarray],
    features: Sequence[Feature],
    n_genes: int,
    upstream: int = 64,
    max_len: int = 960,
    seed: int = 0,
) -> tuple[CodonPosition, np.ndarray, np.ndarray]:
    """Over ``n_genes`` random plus-strand CDS, each read forward from ``upstream`` bases before
    its start for at most ``max_len`` gene bases: (model stats, per-codon boundary mask after
    positions 1..3 (C, 3) bool, the router's overall boundary rate over those bases (1,))."""
    rng = np.random.default_rng(seed)
    cds = [f for f in _cds(features, genome, upstream) if f.strand == "+"]
    picks = rng.choice(len(cds), min(n_genes, len(cds)), replace=False)
    rows, spans = [], []
    for gi in picks:
        f = cds[int(gi)]
        n = min(f.end0 - f.start0, max_len) // 3 * 3
        rows.append(
            genome[f.record][f.start0 - upstream : f.start0 + n + 1]
        )  # +1: the base after the last codon
        spans.append(n)
    scores = row_log_probs(model, rows, batch_size=8)
    after: list[np.ndarray] = []
    lp: list[list[float]] = [[], [], []]
    rate_num = rate_den = 0
    for row, n, sc in zip(rows, spans, scores):
        out = model(torch.from_numpy(row.copy())[None])
        b = out.stages[0].boundary_mask[0].cpu().numpy() if out.stages else np.zeros(row.size, bool)
        g = b[upstream : upstream + n + 1]
        rate_num, rate_den = rate_num + int(g[:n].sum()), rate_den + n
        codons = n // 3
        after.append(np.stack([g[3 * np.arange(codons) + j + 1] for j in range(3)], 1))
        gl = sc.log_prob[upstream - 1 : upstream - 1 + n]  # log_prob[k] scores byte k + 1
        for j in range(3):
            lp[j].extend(gl[j::3].tolist())
    mask = np.concatenate(after)
    stats = CodonPosition(mask.mean(0).tolist(), [float(np.mean(x)) for x in lp])
    return stats, mask, np.array([rate_num / max(rate_den, 1)])


@dataclass
class GenomeReport:
    """The three stand-ins on one annotated genome; every dict is keyed by scorer name."""

    name: str
    codons: int
    codon_counts: tuple[int, int, int]  # synonymous, missense, nonsense SNVs
    codon_auroc: dict[
        str, tuple[float, float]
    ]  # scorer -> AUROC of -delta: nonsense vs syn., missense vs syn.
    cassette_n: tuple[int, int]
    cassette_median: dict[str, tuple[float, float]]  # scorer -> (genic, intergenic) median delta, bits
    cassette_auroc: dict[str, float]  # -delta, genic vs intergenic
    codon_position: dict[str, CodonPosition]


def validate_genome(
    name: str,
    genome: dict[str, np.ndarray],
    features: Sequence[Feature],
    scorers: dict[str, Model],
    markov: MarkovScorer,
    n_codons: int,
    n_genes: int,
    flank: int,
    seed: int = 0,
) -> GenomeReport:
    """Run the three stand-ins with every neural scorer, the Markov baseline and the simple rules."""
    cs = codon_variants(genome, features, n_codons, flank + 1, seed)
    labels = np.array(cs.labels)
    genic, inter = cassette_variants(genome, features, n_genes, flank + 20, seed)
    deltas: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for key, m in scorers.items():
        deltas[key] = (
            model_deltas(m, genome, cs.variants, flank),
            model_deltas(m, genome, genic, flank),
            model_deltas(m, genome, inter, flank),
        )
    deltas.update(
        markov=(
            markov_deltas(markov, genome, cs.variants, flank),
            markov_deltas(markov, genome, genic, flank),
            markov_deltas(markov, genome, inter, flank),
        )
    )
    aa_change = (labels != "synonymous").astype(float)
    codon_auroc, med, cas_auroc = {}, {}, {}
    for key, (dc, dg, di) in [*deltas.items(), ("amino_acid_change", (-aa_change, None, None))]:
        neg = -dc
        syn = neg[labels == "synonymous"]
        codon_auroc[key] = (auroc(neg[labels == "nonsense"], syn), auroc(neg[labels == "missense"], syn))
        if dg is not None and di is not None:
            med[key] = (float(np.nanmedian(dg)), float(np.nanmedian(di)))
            cas_auroc[key] = auroc(-dg, -di)
    positions: dict[str, CodonPosition] = {}
    rate = 0.25
    for key, m in scorers.items():
        stats, mask, r = codon_position_stats(m, genome, features, n_genes, seed=seed)
        positions[key] = stats
        if key == "model":
            rate = float(r[0])
            codons = mask.shape[0]
    grid = np.zeros((codons, 3))
    offsets = 3 * np.arange(codons)[:, None] + np.arange(1, 4)[None]  # gene offsets after pos 1..3
    grid[:] = offsets % 4 == 0  # a boundary every 4 bases from the gene start (the target ratio)
    rnd = np.random.default_rng(seed).random((codons, 3)) < rate
    positions.update(
        {
            "fixed-grid (every 4th base)": CodonPosition(grid.mean(0).tolist()),
            f"random (rate {rate:.3f})": CodonPosition(rnd.mean(0).tolist()),
        }
    )
    syn, mis, non = (int((labels == k).sum()) for k in ("synonymous", "missense", "nonsense"))
    counts = (syn, mis, non)
    return GenomeReport(
        name, n_codons, counts, codon_auroc, (len(genic), len(inter)), med, cas_auroc, positions
    )


def report_markdown(reports: Sequence[GenomeReport]) -> str:
    """The tables of docs/scoring.md's validation section."""
    out = []
    for r in reports:
        syn, mis, non = r.codon_counts
        out.append(
            f"**{r.name}**: {r.codons} codons -> {syn + mis + non} SNVs ({syn} synonymous, "
            f"{mis} missense, {non} nonsense)\n"
        )
        out.append("| scorer | AUROC nonsense vs synonymous | AUROC missense vs synonymous |\n|---|---|---|")
        for k, v in r.codon_auroc.items():
            out.append(f"| {k} | {v[0]:.3f} | {v[1]:.3f} |")
        g, i = r.cassette_n
        out.append(f"\nStop cassette, {g} genes vs {i} intergenic sites:\n")
        out.append(
            "| scorer | median delta genic (bits) | median delta intergenic | AUROC -delta genic vs "
            "intergenic |\n|---|---|---|---|"
        )
        for k, (mg, mi) in r.cassette_median.items():
            out.append(f"| {k} | {mg:.2f} | {mi:.2f} | {r.cassette_auroc[k]:.3f} |")
        out.append("\nCodon position (plus-strand CDS read forward):\n")
        out.append(
            "| segmentation / model | boundary after pos 1 | after 2 | after 3 | mean log2 p pos 1 | "
            "pos 2 | pos 3 |\n|---|---|---|---|---|---|---|"
        )
        for k, p in r.codon_position.items():
            b = " | ".join(f"{100 * x:.1f}%" for x in p.boundary_after)
            lp = " | ".join(f"{x:.3f}" for x in p.mean_log2p) if p.mean_log2p else "- | - | -"
            out.append(f"| {k} | {b} | {lp} |")
        out.append("")
    return "\n".join(out) + "\n"
