"""Record names as users type them: a GenBank LOCUS name and an unversioned accession are aliases,
an alias of two records is an error listing both, an unknown name lists the records (or the closest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modalities.dna import read_region, read_sequence
from modalities.errors import RegionError
from modalities.regions import UnknownRecordError, record_aliases, resolve_record
from tests.paths import DATA

SPLICED = DATA / "spliced_genes.gbk"


def test_locus_name_and_unversioned_accession_read_the_genbank_record() -> None:
    truth = read_sequence(SPLICED, "XX000001.1:21-50")
    for alias in ("SPLICED1:21-50", "XX000001:21-50"):
        found, seq = read_region(SPLICED, alias)
        assert seq == truth and found is not None and found.chrom == "XX000001.1"
    found, seq = read_region(SPLICED, "SPLICED2:1-10:-")
    assert found is not None
    assert (found.chrom, found.start0, found.end0, found.strand) == ("XX000002.3", 0, 10, "-")
    assert seq == read_sequence(SPLICED, "XX000002.3:1-10:-")


def test_unversioned_accession_in_fasta_and_ambiguity(tmp_path: Path) -> None:
    fa = tmp_path / "v.fa"
    fa.write_text(">NC_000001.1\nACGTACGT\n>NC_000001.2\nTTTTGGGG\n>NZ_CP000002.4 plasmid\nCCCC\n")
    assert read_sequence(fa, "NZ_CP000002:1-2") == b"CC"  # through pyfaidx's index
    with pytest.raises(RegionError, match=r"'NC_000001' is ambiguous: it could be NC_000001.1, NC_000001.2"):
        read_sequence(fa, "NC_000001:1-4")
    assert read_sequence(fa, "NC_000001.2:1-4") == b"TTTT"  # the full name is never ambiguous


def test_unknown_name_lists_every_record_or_the_closest() -> None:
    few = {"chr1": record_aliases("chr1"), "chr2": (), "plasmid": ()}
    with pytest.raises(UnknownRecordError, match=r"'chrZ' \(records: chr1, chr2, plasmid\)"):
        resolve_record("f.fa", few, "chrZ")
    many = {f"contig_{i:03d}": () for i in range(200)}
    with pytest.raises(UnknownRecordError) as err:
        resolve_record("f.fa", many, "contig_17")
    assert "200 records; closest: contig_017" in str(err.value) and "contig_199" not in str(err.value)
    with pytest.raises(UnknownRecordError, match=r"records: XX000001.1, XX000002.3\)"):
        read_sequence(SPLICED, "SPLICED3:1-10")


def test_aliases_of_a_name() -> None:
    assert record_aliases("NC_000913.3") == ("NC_000913",)
    assert record_aliases("XX000001.1", ("SPLICED1",)) == ("SPLICED1", "XX000001")
    assert record_aliases("chr1") == () and record_aliases("HLA-A*01:01") == ()
