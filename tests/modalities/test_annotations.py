"""Joined (spliced) CDS: the codon phase follows the joined feature, checked base by base against
Biopython's own extraction of each ``CompoundLocation`` (tests/data/spliced_genes.gbk, written by hand:
joined CDS on both strands, codon_start 2 and 3, partial ends)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from Bio import SeqIO

from modalities.annotations import read_annotations
from modalities.errors import AnnotationError
from tests.paths import DATA

SPLICED = DATA / "spliced_genes.gbk"


def _biopython_phases() -> dict[tuple[str, int], int]:
    """(record, forward coordinate) -> codon phase, from the order in which Biopython's
    ``location.extract`` reads the bases: the t-th extracted base has phase (t - (codon_start - 1)) % 3."""
    truth: dict[tuple[str, int], int] = {}
    for rec in SeqIO.parse(SPLICED, "genbank"):
        for feat in rec.features:
            if feat.type != "CDS":
                continue
            coords = list(feat.location)  # forward coordinates in transcript order
            spliced = feat.location.extract(rec.seq)
            # the order really is the extraction's: base t of the spliced CDS is the genome base at coords[t]
            for t, x in enumerate(coords):
                base = rec.seq[x] if feat.location.strand == 1 else rec.seq[x : x + 1].reverse_complement()[0]
                assert spliced[t] == base
            shift = int(feat.qualifiers["codon_start"][0]) - 1
            for t, x in enumerate(coords):
                truth[(rec.id, x)] = (t - shift) % 3
    return truth


def test_phase_of_every_cds_base_equals_biopython_extraction() -> None:
    truth = _biopython_phases()
    got: dict[tuple[str, int], int] = {}
    for f in read_annotations(SPLICED, types=("CDS",)):
        x = np.arange(f.start0, f.end0)
        for pos, ph in zip(x.tolist(), f.phase(x).tolist()):
            got[(f.record, pos)] = ph
    assert len(truth) == 111 + 90 + 100 + 70
    assert got == truth


def test_complete_cds_begin_with_atg_and_only_gene_ends_are_anchors() -> None:
    feats = read_annotations(SPLICED, types=("CDS",))
    seqs = {r.id: r.seq for r in SeqIO.parse(SPLICED, "genbank")}
    starts = [(f.record, f.start0 if f.strand == "+" else f.end0 - 1) for f in feats if f.has_start]
    stops = [(f.record, f.end0 - 1 if f.strand == "+" else f.start0) for f in feats if f.has_stop]
    # the two complete genes of SPLICED1 start with their ATG; the partial ones of SPLICED2 have no start
    assert starts == [("XX000001.1", 20), ("XX000001.1", 339)]
    assert stops == [("XX000001.1", 200), ("XX000001.1", 220), ("XX000002.3", 10), ("XX000002.3", 229)]
    assert seqs["XX000001.1"][20:23] == "ATG" and seqs["XX000001.1"][337:340].reverse_complement() == "ATG"
    assert seqs["XX000001.1"][198:201] == "TAA" and seqs["XX000001.1"][220:223].reverse_complement() == "TAA"
    # parts know their joined feature: three exons of one gene, two of the other
    assert [(f.part, f.parts, f.offset) for f in feats if f.record == "XX000001.1"] == [
        (0, 3, 0), (1, 3, 30), (2, 3, 80), (0, 2, 0), (1, 2, 50)]
    assert len({f.gene_key for f in feats}) == 4


def test_gff3_parts_sharing_an_id_are_one_joined_cds(tmp_path: Path) -> None:
    # the minus-strand gene of SPLICED1 as GFF3: two CDS lines with one ID, listed in file order
    gff = tmp_path / "g.gff3"
    gff.write_text("##gff-version 3\n"
                   "r\t.\tCDS\t221\t260\t.\t-\t1\tID=cds1;Parent=mrna1\n"
                   "r\t.\tCDS\t291\t340\t.\t-\t0\tID=cds1;Parent=mrna1\n"
                   "r\t.\tCDS\t401\t430\t.\t+\t2\tID=cds2\n")
    feats = read_annotations(gff, types=("CDS",))
    assert [(f.start0, f.part, f.parts, f.offset, f.codon_start) for f in feats] == [
        (220, 1, 2, 50, 1), (290, 0, 2, 0, 1), (400, 0, 1, 0, 3)]
    # GFF3's own phase column of the second exon agrees with the phase we derive: 50 bases before it,
    # so its first base (forward 259, in gene orientation) has phase 50 % 3 = 2, i.e. GFF3 phase 1
    assert int(feats[0].phase(np.array([259]))[0]) == 2
    assert int(feats[2].phase(np.array([400]))[0]) == 1  # phase 2: two bases before the first codon


def test_bad_codon_start_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gbk"
    bad.write_text(SPLICED.read_text().replace("/codon_start=2", "/codon_start=5"))
    with pytest.raises(AnnotationError, match=r"codon_start='5'"):
        read_annotations(bad)
