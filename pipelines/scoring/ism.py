"""In-silico saturation mutagenesis: every base of a region changed to each of the other three,
each mutant scored like a single SNV (`variants`, same window rule), as a matrix.

The 3 mutants of a position share one REF window, and the windows of many positions share each
model call, so a 1 kb region is 1,000 sites x 2 strands x 4 rows.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hnet_bio.atomic import atomic_path
from pipelines.scoring.likelihood import Model
from pipelines.scoring.variants import score_variants
from pipelines.scoring.windows import DEFAULT_FLANK, Variant

BASES = "ACGT"
MAX_ISM = 1000  # bases per region


@dataclass
class IsmResult:
    """delta log-likelihood (bits, strand mean) of every SNV of a region; the REF cell is 0.

    ``statuses`` is "ok" where the row was scored, otherwise why not (e.g. near_end)."""

    chrom: str
    start: int  # 0-based forward coordinate of the first base
    ref: bytes  # (L,) the region's bases
    delta: np.ndarray  # (L, 4) float64, columns A C G T; NaN where not scored
    delta_fwd: np.ndarray  # (L, 4)
    delta_rc: np.ndarray  # (L, 4)
    statuses: list[str]

    def tsv(self) -> str:
        """chrom, 1-based pos, ref, then the strand-mean delta for A, C, G, T."""
        buf = io.StringIO()
        buf.write("chrom\tpos\tref\t" + "\t".join(BASES) + "\tstatus\n")
        for i, row in enumerate(self.delta):
            vals = "\t".join("nan" if np.isnan(v) else f"{v:.5f}" for v in row)
            buf.write(f"{self.chrom}\t{self.start + i + 1}\t{chr(self.ref[i])}\t{vals}\t{self.statuses[i]}\n")
        return buf.getvalue()


def saturation_mutagenesis(
    model: Model,
    genome: dict[str, np.ndarray],
    chrom: str,
    start: int,
    end: int,
    flank: int = DEFAULT_FLANK,
    batch_size: int = 64,
    reuse_prefix: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IsmResult:
    """The ISM matrix of bases [start, end) of ``chrom`` (0-based half-open, at most `MAX_ISM`)."""
    if not 0 < end - start <= MAX_ISM:
        raise ValueError(f"an ISM region must hold 1..{MAX_ISM} bases, got {end - start}")
    ref = genome[chrom][start:end].tobytes().upper()
    variants = [
        Variant(chrom, start + i, chr(b), alt) for i, b in enumerate(ref) for alt in BASES if ord(alt) != b
    ]
    scores = score_variants(model, genome, variants, flank, batch_size, reuse_prefix, progress)
    n = end - start
    mats = [np.full((n, 4), np.nan) for _ in range(3)]
    statuses = ["ok"] * n
    for s in scores:
        i, j = s.variant.pos - start, BASES.index(s.variant.alt)
        mats[0][i, j], mats[1][i, j], mats[2][i, j] = s.dll, s.dll_fwd, s.dll_rc
        if s.status != "ok":
            statuses[i] = s.status
    for i, b in enumerate(ref):
        if chr(b) in BASES and statuses[i] == "ok":
            for m in mats:
                m[i, BASES.index(chr(b))] = 0.0
    return IsmResult(chrom, start, ref, mats[0], mats[1], mats[2], statuses)


def heatmap_png(result: IsmResult, path: str, title: str = "") -> None:
    """The matrix as a heatmap (bases x positions), blue = the mutant is less likely than REF."""
    # matplotlib is heavy and only this figure needs it here.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = result.delta.shape[0]
    lim = float(np.nanmax(np.abs(result.delta))) if np.isfinite(result.delta).any() else 1.0
    fig, ax = plt.subplots(figsize=(min(40, 3 + n / 12), 2.6))
    im = ax.imshow(result.delta.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_yticks(range(4), list(BASES))
    ax.set_xlabel(f"{result.chrom} position (1-based, from {result.start + 1})")
    ticks = np.linspace(0, n - 1, min(n, 10)).astype(int)
    ax.set_xticks(ticks, [str(result.start + 1 + t) for t in ticks])
    ax.set_title(
        title or f"ISM {result.chrom}:{result.start + 1}-{result.start + n}: delta log-likelihood (bits)"
    )
    fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01, label="bits")
    fig.tight_layout()
    with atomic_path(path) as tmp:  # all or nothing, like every output
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
