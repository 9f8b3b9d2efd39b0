"""Score the variants of a VCF against a reference FASTA and write them back annotated.

Each ALT of a record is its own `Variant` (multi-allelic records split); the output VCF keeps
every input record and header line and adds, per ALT (Number=A), the INFO fields of
`INFO_FIELDS`; a TSV with the same stem has one line per ALT.
"""

from __future__ import annotations

import io
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hnet_bio.atomic import atomic_write_text
from modalities.dna import read_fasta
from modalities.variants import InfoField, VcfRecord, read_vcf, write_annotated_vcf
from pipelines.scoring.likelihood import Model
from pipelines.scoring.variants import Progress, VariantScore, score_variants
from pipelines.scoring.windows import DEFAULT_FLANK, STATUSES, Variant

INFO_FIELDS = (
    InfoField(
        "HNET_DLL",
        "A",
        "Float",
        "H-Net delta log-likelihood ALT - REF in bits over a window centred on the variant, "
        "mean of forward and reverse-complement strands (hnet-bio score)",
    ),
    InfoField("HNET_DLL_FWD", "A", "Float", "H-Net delta log-likelihood ALT - REF in bits, forward strand"),
    InfoField(
        "HNET_DLL_RC",
        "A",
        "Float",
        "H-Net delta log-likelihood ALT - REF in bits, reverse complement of both windows",
    ),
    InfoField(
        "HNET_STATUS",
        "A",
        "String",
        "ok, or why the ALT was not scored: " + ", ".join(k for k in STATUSES if k != "ok"),
    ),
)
TSV_COLUMNS = ("chrom", "pos", "id", "ref", "alt", "status", "dll", "dll_fwd", "dll_rc")


def read_genome(fasta: str | os.PathLike[str], soft_mask: bool = False) -> dict[str, np.ndarray]:
    """Every record of a FASTA/GenBank/GFF3 file as contig name -> (L,) uint8."""
    return {r.name: np.frombuffer(r.seq, dtype=np.uint8) for r in read_fasta(fasta, soft_mask=soft_mask)}


def split_records(records: Sequence[VcfRecord]) -> list[Variant]:
    """One `Variant` per ALT (a record without ALT gives one "no_alt" variant with alt ".")."""
    out = []
    for i, r in enumerate(records):
        for j, alt in enumerate(r.alts or (".",)):
            out.append(Variant(r.chrom, r.pos - 1, r.ref, alt, r.id, i, j))
    return out


@dataclass
class VcfScoring:
    """What `score_vcf` did: one score per ALT and the count of each status."""

    scores: list[VariantScore]
    counts: Counter[str]

    @property
    def ref_mismatches(self) -> int:
        return sum(s.status == "ref_mismatch" for s in self.scores)

    def summary(self) -> str:
        parts = [f"{n} {k}" for k, n in sorted(self.counts.items(), key=lambda kv: kv[0] != "ok")]
        return f"{len(self.scores)} alleles: " + ", ".join(parts)


def tsv_text(scores: Sequence[VariantScore]) -> str:
    def num(x: float) -> str:
        return "nan" if math.isnan(x) else f"{x:.5f}"

    buf = io.StringIO()
    buf.write("\t".join(TSV_COLUMNS) + "\n")
    for s in scores:
        v = s.variant
        buf.write(
            f"{v.chrom}\t{v.pos + 1}\t{v.id}\t{v.ref}\t{v.alt}\t{s.status}\t{num(s.dll)}\t"
            f"{num(s.dll_fwd)}\t{num(s.dll_rc)}\n"
        )
    return buf.getvalue()


def _num(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 5)  # None is VCF's missing value "."


def _info_values(
    records: Sequence[VcfRecord], scores: Sequence[VariantScore]
) -> list[dict[str, tuple[float | str | None, ...]]]:
    per: list[list[VariantScore]] = [[] for _ in records]
    for s in scores:
        per[s.variant.record].append(s)
    out: list[dict[str, tuple[float | str | None, ...]]] = []
    for rec, ss in zip(records, per):
        if not rec.alts:  # no ALT: nothing per-ALT to write
            out.append({})
            continue
        out.append(
            {
                "HNET_DLL": tuple(_num(s.dll) for s in ss),
                "HNET_DLL_FWD": tuple(_num(s.dll_fwd) for s in ss),
                "HNET_DLL_RC": tuple(_num(s.dll_rc) for s in ss),
                "HNET_STATUS": tuple(s.status for s in ss),
            }
        )
    return out


def tsv_path(out: str | os.PathLike[str]) -> Path:
    """The TSV beside an output VCF: same stem (``x.vcf.gz`` and ``x.vcf`` -> ``x.tsv``)."""
    name = Path(out).name
    for suffix in (".vcf.gz", ".vcf.bgz", ".vcf"):
        if name.endswith(suffix):
            return Path(out).with_name(name[: -len(suffix)] + ".tsv")
    return Path(out).with_name(name + ".tsv")


def score_vcf(
    model: Model,
    genome: Mapping[str, np.ndarray],
    vcf: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    flank: int = DEFAULT_FLANK,
    batch_size: int = 64,
    reuse_prefix: bool = False,
    progress: Progress | None = None,
) -> VcfScoring:
    """Read ``vcf`` (checked: `modalities.variants.read_vcf`), score every ALT, and write ``out``
    (VCF, ``.gz`` bgzipped) and its TSV when ``out`` is given."""
    records = read_vcf(vcf)
    variants = split_records(records)
    scores = score_variants(model, genome, variants, flank, batch_size, reuse_prefix, progress)
    if out is not None:
        write_annotated_vcf(vcf, out, INFO_FIELDS, _info_values(records, scores))
        atomic_write_text(tsv_path(out), tsv_text(scores))
    return VcfScoring(scores, Counter(s.status for s in scores))
