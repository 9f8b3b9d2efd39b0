"""DNA codec: coordinates checked by hand, real files with known contents, and every bad input."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from modalities import dna
from modalities.errors import FastaFormatError, InputError, MissingInputError, RegionError
from tests.paths import DATA

ECOLI = DATA / "ecoli_MG1655_20kb.fa"
# MG1655 bases 1,000,001-1,000,030, read independently with
# `zcat MG1655-K12.fasta.gz | grep -v '>' | tr -d '\n' | cut -c1000001-1000030`
ECOLI_FIRST30 = b"ATTAGGCGAGTACGGTTCGTTTTATTTAAG"
TOY = b"ACGTACGGTTNNacgtRYKM"  # soft-masked stretch "acgt" at 13-16 (1-based)


pytestmark = pytest.mark.usefixtures("cache_dir")


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture
def ecoli(tmp_path: Path) -> Path:
    """A private copy, so the .fai that pyfaidx writes next to it never lands in tests/data."""
    return write(tmp_path / ECOLI.name, ECOLI.read_bytes())


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    body = b"\n".join(TOY[i : i + 7] for i in range(0, len(TOY), 7))
    return write(tmp_path / "toy.fa", b">chrT toy record\n" + body + b"\n>chrU\nGGGGCCCC\n")


# ---- regions: samtools 1-based inclusive in, 0-based half-open stored ----

def test_parse_region_samtools_coordinates() -> None:
    r = dna.parse_region("chr1:1-10")
    assert (r.chrom, r.start0, r.end0, r.strand) == ("chr1", 0, 10, "+")
    assert dna.parse_region("chr1:1,000-2,000:-") == dna.Region("chr1", 999, 2000, "-")
    gi = "gi|29165615|ref|NC_002745.2|"
    assert dna.parse_region(f"{gi}:5-5") == dna.Region(gi, 4, 5)
    assert dna.parse_region("HLA:A:3-4").chrom == "HLA:A"
    assert dna.parse_region("chrX") == dna.Region("chrX", 0, None, "+")
    assert dna.parse_region("chrX:7").start0 == 6 and dna.parse_region("chrX:7").end0 is None
    for bad in ("chr1:10-5", "chr1:0-5", ""):
        with pytest.raises(RegionError):
            dna.parse_region(bad)


def test_read_sequence_regions_by_hand(toy: Path) -> None:
    assert dna.read_sequence(toy, "chrT:1-4") == b"ACGT"
    assert dna.read_sequence(toy, "chrT:5-8") == b"ACGG"
    assert dna.read_sequence(toy, "chrT:11-12") == b"NN"  # N kept
    assert dna.read_sequence(toy, "chrT:13-16") == b"ACGT"  # upper-cased by default
    assert dna.read_sequence(toy, "chrT:13-16", soft_mask=True) == b"acgt"
    assert dna.read_sequence(toy, "chrT:17-20") == b"RYKM"  # IUPAC kept
    assert dna.read_sequence(toy, "chrT:1-4:-") == b"ACGT"  # ACGT is its own reverse complement
    assert dna.read_sequence(toy, "chrT:5-8:-") == b"CCGT"
    assert dna.read_sequence(toy, "chrT:20-20") == b"M"
    assert dna.read_sequence(toy, "chrU") == b"GGGGCCCC"
    assert dna.read_sequence(toy, "chrT") == TOY.upper()
    assert (toy.parent / "toy.fa.fai").exists()  # pyfaidx index built next to the file


def test_real_slice_known_contents_and_compressions(tmp_path: Path, ecoli: Path) -> None:
    assert dna.read_sequence(ecoli, "ecoli_MG1655:1-30") == ECOLI_FIRST30
    whole = dna.read_sequence(ecoli)
    assert len(whole) == 20_000 and whole[:30] == ECOLI_FIRST30
    assert dna.read_sequence(ecoli, "ecoli_MG1655:19991-20000") == whole[-10:]
    gz = write(tmp_path / "e.fa.gz", gzip.compress(ECOLI.read_bytes()))
    from Bio import bgzf

    bgz = tmp_path / "e.fa.bgz"
    with bgzf.BgzfWriter(str(bgz), "wb") as fh:
        fh.write(ECOLI.read_bytes())
    for path in (gz, bgz):
        assert dna.read_sequence(path, "ecoli_MG1655:1-30") == ECOLI_FIRST30
        minus = dna.read_sequence(path, "ecoli_MG1655:12345-13000:-")
        assert minus == dna.reverse_complement(whole[12344:13000])
    assert (tmp_path / "e.fa.bgz.fai").exists() and not (tmp_path / "e.fa.gz.fai").exists()


def test_fai_index_reused(tmp_path: Path) -> None:
    path = write(tmp_path / "e.fa", ECOLI.read_bytes())
    dna.read_sequence(path, "ecoli_MG1655:1-10")
    fai = Path(f"{path}.fai")
    stamp = fai.stat().st_mtime_ns
    dna.read_sequence(path, "ecoli_MG1655:100-200")
    assert fai.stat().st_mtime_ns == stamp


def test_reverse_complement_iupac_and_invariant(ecoli: Path) -> None:
    assert dna.reverse_complement(b"AACGTN") == b"NACGTT"
    assert dna.reverse_complement(b"RYKMBDHVSW") == b"WSBDHVKMRY"
    assert dna.reverse_complement(b"acgT") == b"Acgt"  # case preserved
    alphabet = b"ACGTRYSWKMBDHVNacgtryswkmbdhvn"
    assert dna.reverse_complement(dna.reverse_complement(alphabet)) == alphabet
    whole = dna.read_sequence(ecoli)
    assert dna.reverse_complement(dna.reverse_complement(whole)) == whole


def test_read_bed_zero_based_half_open(tmp_path: Path, ecoli: Path) -> None:
    bed = write(tmp_path / "r.bed", "track name=x\n# comment\necoli_MG1655\t0\t30\tfirst\t0\t+\n"
                                    "ecoli_MG1655\t100\t150\tsecond\t0\t-\n")
    regions = dna.read_bed(bed)
    got = [(r.start0, r.end0, r.strand, r.name) for r in regions]
    assert got == [(0, 30, "+", "first"), (100, 150, "-", "second")]
    assert dna.read_sequence(ecoli, regions[0]) == ECOLI_FIRST30
    assert dna.read_sequence(ecoli, regions[1]) == dna.read_sequence(ecoli, "ecoli_MG1655:101-150:-")


def test_ragged_lines_fall_back_to_streaming(tmp_path: Path) -> None:
    ragged = write(tmp_path / "ragged.fa", ">r\nACG\nTTTTT\nA\nCC\n>s\nGG\n")  # pyfaidx refuses to index this
    assert dna.read_sequence(ragged, "r:3-9") == b"GTTTTTA"
    assert dna.read_sequence(ragged, "r:2-4:-") == b"ACG"  # CGT reverse-complemented
    assert dna.read_sequence(ragged, "r:2-4:-") == b"ACG"  # again, now that an index may exist


def test_crlf_fasta_reads_correctly(tmp_path: Path, ecoli: Path) -> None:
    crlf = write(tmp_path / "crlf.fa", ECOLI.read_bytes().replace(b"\n", b"\r\n"))
    assert dna.read_fasta(crlf)[0].seq == dna.read_fasta(ECOLI)[0].seq
    assert dna.read_sequence(crlf, "ecoli_MG1655:1-30") == ECOLI_FIRST30
    assert dna.read_sequence(crlf, "ecoli_MG1655:59-62") == dna.read_sequence(ecoli, "ecoli_MG1655:59-62")


def test_genbank_embl_gff3_sequences_and_annotations() -> None:
    gbk = dna.read_fasta(DATA / "leptospira_excerpt.gbk")
    assert [(r.name, len(r.seq)) for r in gbk] == [("NZ_AHMY02000073.1", 4205), ("NZ_AHMY02000064.1", 2498)]
    assert gbk[0].seq.startswith(b"AAGGTATACCTATGTATTTT")  # ORIGIN line 1, upper-cased
    cds = dna.read_annotations(DATA / "leptospira_excerpt.gbk", types=["CDS"])
    assert len(cds) == 9  # 6 + 3 CDS features in the two LOCUS records
    assert (cds[0].start0, cds[0].end0, cds[0].strand) == (0, 121, "-")  # complement(<1..121)
    assert (cds[1].start0, cds[1].end0, cds[1].strand, cds[1].name) == (347, 728, "+", "LEP1GSC081_RS0208065")
    gff_seq = dna.read_fasta(DATA / "ecoli_contig_excerpt.gff3")
    assert [(r.name, len(r.seq)) for r in gff_seq] == [("BAC_00087", 1152)]
    feats = dna.read_annotations(DATA / "ecoli_contig_excerpt.gff3")
    got = [(f.start0, f.end0, f.strand) for f in feats]
    assert got == [(46, 319, "+"), (311, 545, "-"), (602, 1136, "-")]  # GFF 47..319 etc.
    assert dna.read_sequence(DATA / "ecoli_contig_excerpt.gff3", "BAC_00087:47-49") == gff_seq[0].seq[46:49]
    embl = dna.read_fasta(DATA / "K02675_excerpt.embl")
    assert [len(r.seq) for r in embl] == [569, 569] and embl[0].seq.startswith(b"AGTCGCTTTTAATTATGAAT")


def test_write_fasta_wraps_and_round_trips(tmp_path: Path) -> None:
    recs = [dna.Record("a", "first one", b"ACGT" * 40), dna.Record("b", "", b"N" * 7)]
    out = dna.write_fasta(recs, tmp_path / "out.fa", line_width=50)
    lines = out.read_text().splitlines()
    assert lines[0] == ">a first one" and lines[1] == "ACGT" * 12 + "AC" and len(lines[4]) == 10
    assert max(len(x) for x in lines if not x.startswith(">")) == 50
    assert dna.read_fasta(out) == recs
    dna.write_fasta([("gz", b"ACGTTT")], tmp_path / "out.fa.gz")
    assert gzip.decompress((tmp_path / "out.fa.gz").read_bytes()) == b">gz\nACGTTT\n"
    assert sorted(os.listdir(tmp_path)) == ["out.fa", "out.fa.gz"]  # no temp files left behind
    assert oct((tmp_path / "out.fa").stat().st_mode & 0o777) != "0o600"


# ---- bad input: a typed error that names the file ----

def check_error(exc_type: type[InputError], path: Path, needle: str, fn, *args, **kwargs) -> None:
    with pytest.raises(exc_type) as info:
        fn(path, *args, **kwargs)
    msg = str(info.value)
    assert str(path) in msg and needle in msg, msg
    assert "\n" not in msg


def test_empty_file(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.fa", b"")
    check_error(FastaFormatError, empty, "empty file", dna.read_fasta)
    check_error(FastaFormatError, empty, "empty file", dna.read_sequence, "x:1-2")
    blank = write(tmp_path / "blank.fa", b"\n\n")
    check_error(FastaFormatError, blank, "no FASTA records", dna.read_fasta)


def test_fasta_without_header(tmp_path: Path) -> None:
    bad = write(tmp_path / "nohead.fa", "ACGTACGT\nACGT\n")
    check_error(FastaFormatError, bad, "before any '>' header", dna.read_fasta)
    check_error(FastaFormatError, bad, "before any '>' header", dna.read_sequence)


def test_invalid_characters(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.fa", ">r1\nACGT\nAC GT\n")
    check_error(FastaFormatError, bad, "line 3: invalid character ' '", dna.read_fasta)
    protein = write(tmp_path / "prot.fa", ">p\nMKLVEF\n")
    check_error(FastaFormatError, protein, "invalid character 'L'", dna.read_sequence, "p:1-6")


def test_duplicate_record_names(tmp_path: Path) -> None:
    dup = write(tmp_path / "dup.fa", ">a x\nACGT\n>a y\nGGGG\n")
    check_error(FastaFormatError, dup, "duplicate record name", dna.read_fasta)
    check_error(FastaFormatError, dup, "duplicate record name", dna.read_sequence, "a:1-2")


def test_region_past_end_and_unknown_record(toy: Path) -> None:
    past = "past the end of record 'chrT' (length 20)"
    check_error(RegionError, toy, past, dna.read_sequence, "chrT:15-21")
    check_error(RegionError, toy, "past the end", dna.read_sequence, "chrU:100-200")
    check_error(RegionError, toy, "unknown record name 'chr9'", dna.read_sequence, "chr9:1-5")
    check_error(RegionError, toy, "2 records; give a region", dna.read_sequence)


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(ECOLI.read_bytes())
    cut = write(tmp_path / "cut.fa.gz", data[: len(data) // 2])
    check_error(FastaFormatError, cut, "truncated or corrupt gzip", dna.read_fasta)
    check_error(FastaFormatError, cut, "truncated or corrupt gzip", dna.read_sequence, "ecoli_MG1655:1-5")


def test_missing_file_gff_without_sequence_and_bad_bed(tmp_path: Path) -> None:
    check_error(MissingInputError, tmp_path / "nope.fa", "no such", dna.read_fasta)
    noseq = write(tmp_path / "a.gff3", "##gff-version 3\nc1\tx\tCDS\t1\t9\t.\t+\t0\tID=a\n")
    check_error(FastaFormatError, noseq, "no embedded ##FASTA", dna.read_fasta)
    bed = write(tmp_path / "bad.bed", "chr1\t10\t5\n")
    check_error(RegionError, bed, "line 1: invalid interval", dna.read_bed)
