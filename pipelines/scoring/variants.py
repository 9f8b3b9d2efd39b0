"""Variant effects: delta log-likelihood ALT - REF over the window of `windows`, both strands.

Variants are grouped by site (contig, position, REF), so each REF window is computed once however
many ALT alleles it has (a split multi-allelic record, or the 3 mutants of an ISM position); the
windows of many sites go through the model in batches. Two exact ways to get the numbers:

- full forwards (default): every REF and ALT window is one row of a batched forward, and
  delta = LL(ALT row) - LL(REF row);
- prefix reuse (``reuse_prefix=True``, `prefix`): the shared upstream flank is prefilled once per
  site and strand and only the allele + downstream flank is stepped, per allele.

They agree to float rounding (tests run both in float64); docs/scoring.md says which is faster.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.scoring.likelihood import Model, reverse_complement, row_log_probs
from pipelines.scoring.prefix import suffix_log_likelihoods
from pipelines.scoring.windows import DEFAULT_FLANK, Site, Variant, site_for, variant_status

Progress = Callable[[int, int], None]  # (sites done, sites)


@dataclass
class VariantScore:
    """The score of one variant; NaN unless status is "ok"."""

    variant: Variant
    status: str
    dll_fwd: float = math.nan  # bits, forward strand
    dll_rc: float = math.nan  # bits, reverse complement of both windows

    @property
    def dll(self) -> float:
        """The strand mean, bits: what HNET_DLL reports."""
        return (self.dll_fwd + self.dll_rc) / 2


def _strand_rows(site: Site) -> tuple[list[np.ndarray], list[np.ndarray]]:
    fwd = site.rows()
    return fwd, [reverse_complement(r) for r in fwd]


def site_deltas_full(
    model: Model, sites: Sequence[Site], batch_size: int, progress: Progress | None = None
) -> list[list[tuple[float, float]]]:
    """Per site, per ALT: (delta forward, delta reverse complement) from full forwards of every row,
    all rows in one `row_log_probs` call (so long jobs get its worker processes)."""
    rows: list[np.ndarray] = []
    for s in sites:
        fwd, rc = _strand_rows(s)
        rows += fwd + rc
    rows_progress = None
    if progress is not None:
        def rows_progress(done: int, total: int) -> None:
            progress(len(sites) * done // total, len(sites))
    totals = [r.total for r in row_log_probs(model, rows, batch_size, progress=rows_progress)]
    out, k = [], 0
    for s in sites:
        n = 1 + len(s.alts)
        f, r = totals[k : k + n], totals[k + n : k + 2 * n]
        out.append([(f[a] - f[0], r[a] - r[0]) for a in range(1, n)])
        k += 2 * n
    return out


def site_deltas_prefix(model: Model, sites: Sequence[Site]) -> list[list[tuple[float, float]]]:
    """As `site_deltas_full`, but each site's shared upstream flank is prefilled once per strand."""
    prefixes, suffixes = [], []
    for s in sites:
        alleles = [np.frombuffer(a, dtype=np.uint8) for a in (s.ref, *s.alts)]
        prefixes.append(s.left)
        suffixes.append([np.concatenate([a, s.right]) for a in alleles])
        prefixes.append(reverse_complement(s.right))
        suffixes.append(
            [np.concatenate([reverse_complement(a), reverse_complement(s.left)]) for a in alleles]
        )
    ll = suffix_log_likelihoods(model, np.stack(prefixes), suffixes)
    return [
        [
            (ll[2 * i][a] - ll[2 * i][0], ll[2 * i + 1][a] - ll[2 * i + 1][0])
            for a in range(1, len(s.alts) + 1)
        ]
        for i, s in enumerate(sites)
    ]


def score_variants(
    model: Model,
    genome: Mapping[str, np.ndarray],
    variants: Sequence[Variant],
    flank: int = DEFAULT_FLANK,
    batch_size: int = 64,
    reuse_prefix: bool = False,
    progress: Progress | None = None,
) -> list[VariantScore]:
    """Score every variant (statuses from `windows.variant_status`); one `VariantScore` each, in order.

    genome: contig -> (L,) uint8 bases in the model's byte convention. batch_size counts rows
    (each site brings 2 x (1 + ALTs) rows).
    """
    if flank < 1:
        raise ValueError(f"flank must be >= 1, got {flank}")
    scores = [VariantScore(v, variant_status(v, genome, flank)) for v in variants]
    groups: dict[tuple[str, int, str], list[int]] = {}
    for i, s in enumerate(scores):
        if s.status == "ok":
            groups.setdefault((s.variant.chrom, s.variant.pos, s.variant.ref.upper()), []).append(i)
    keys = list(groups)
    sites = [site_for(genome, c, p, r, tuple(scores[i].variant.alt for i in groups[(c, p, r)]), flank)
             for c, p, r in keys]
    if reuse_prefix:
        per_batch = max(1, batch_size // 4)  # sites per model call: 2 strands x (REF + usually one ALT)
        deltas = []
        for b in range(0, len(sites), per_batch):
            deltas += site_deltas_prefix(model, sites[b : b + per_batch])
            if progress is not None:
                progress(min(b + per_batch, len(sites)), len(sites))
    else:
        deltas = site_deltas_full(model, sites, batch_size, progress)
    for key, site_d in zip(keys, deltas):
        for i, (f, r) in zip(groups[key], site_d):
            scores[i].dll_fwd, scores[i].dll_rc = f, r
    return scores
