"""CDS statistics on spliced genes: phase along the joined CDS, anchors at genes' real ends only,
counts per analysed region (tests/data/spliced_genes.gbk; truth from Biopython's extraction)."""

from __future__ import annotations

import numpy as np
from Bio import SeqIO

from modalities.annotations import read_annotations
from modalities.dna import read_sequence
from pipelines.analysis.boundary_stats import MODEL, annotation_stats
from pipelines.inputs import Item
from tests.paths import DATA

SPLICED = DATA / "spliced_genes.gbk"


def _item(record: str) -> Item:
    seq = read_sequence(SPLICED, record)
    return Item(record, np.frombuffer(seq, dtype=np.uint8), str(SPLICED), record)


def _codon_starts(record: str, length: int) -> np.ndarray:
    """(L,) bool: the first base of every codon of every CDS, from Biopython's extraction order."""
    mark = np.zeros(length, dtype=bool)
    for rec in SeqIO.parse(SPLICED, "genbank"):
        if rec.id != record:
            continue
        for feat in rec.features:
            if feat.type == "CDS":
                coords = list(feat.location)
                mark[coords[int(feat.qualifiers["codon_start"][0]) - 1 :: 3]] = True
    return mark


def test_phase_follows_the_joined_cds_on_both_strands() -> None:
    feats = read_annotations(SPLICED, types=("CDS",))
    items = [_item("XX000001.1"), _item("XX000002.3")]
    marks = [_codon_starts(it.chrom, it.length)[None] for it in items]
    seg = annotation_stats(items, {MODEL: marks}, feats, flank=5).stages[0].segmentations[MODEL]
    # per exon (the old reading), exon 2 of the + gene starts at transcript base 30 (phase 0, luckily)
    # but exon 3 at base 80 (phase 2) and the - gene's exon 2 at 50 (phase 2): its rates would be mixed
    assert seg.phase_rate.all == [1.0, 0.0, 0.0]
    assert seg.bases_in_cds == 111 + 90 + 100 + 70


def test_anchors_are_genes_real_ends_and_counts_are_per_region() -> None:
    feats = read_annotations(SPLICED, types=("CDS",))
    one = [_item("XX000001.1")]
    mark = np.zeros((1, one[0].length), dtype=bool)
    mark[0, [20, 339]] = True  # the two start codons' first bases
    stats = annotation_stats(one, {MODEL: [mark]}, feats, flank=3)
    seg = stats.stages[0].segmentations[MODEL]
    assert stats.cds_features == 2  # the two genes of this record, not 5 exon parts nor 4 CDS in the file
    assert seg.metaplot_cds_starts == 2 and seg.metaplot_cds_stops == 2
    assert seg.metaplot_start[3] == 1.0  # offset 0: both real starts hold a boundary
    two = annotation_stats([_item("XX000002.3")], {MODEL: [np.zeros((1, 240), dtype=bool)]}, feats, flank=3)
    assert two.cds_features == 2
    # both CDS of SPLICED2 are 5'-partial: no start anchor; their 3' ends are real stops
    assert two.stages[0].segmentations[MODEL].metaplot_cds_starts == 0
    assert two.stages[0].segmentations[MODEL].metaplot_cds_stops == 2
