"""`hnet-bio score` end to end on a tiny checkpoint and a 20 kb E. coli slice: sequences, tracks,
VCF variants (plain, bgzipped, multi-allelic, every status, bad input), ISM."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pysam
import pytest

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.lm import HNetLM, IsotropicLM
from pipelines.cli import main
from pipelines.scoring.ism import saturation_mutagenesis
from pipelines.scoring.variant_files import read_genome
from pipelines.scoring.variants import score_variants
from pipelines.scoring.windows import Variant
from tests.paths import DATA

FASTA = DATA / "ecoli_MG1655_20kb.fa"
CHROM = "ecoli_MG1655"
HEADER = (
    "##fileformat=VCFv4.2\n##source=test\n##contig=<ID=ecoli_MG1655,length=20000>\n"
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


@pytest.fixture(scope="module")
def seq() -> str:
    return read_genome(FASTA)[CHROM].tobytes().decode()


def _score(tiny_checkpoints: Mapping[str, Path], *args: str) -> int:
    """`hnet-bio score` with the tiny DNA checkpoint on the E. coli excerpt, plus `args`."""
    return main(["score", "--checkpoint", str(tiny_checkpoints["dna"]), "--fasta", str(FASTA), *args])


def _vcf(tmp_path: Path, lines: list[str], name: str = "in.vcf") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + "".join(line + "\n" for line in lines))
    return p


def _lines(seq: str) -> list[str]:
    b = {p: seq[p - 1] for p in (100, 200, 300, 5000, 19990)}
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    return [
        f"{CHROM}\t100\trs1\t{b[100]}\t{other[b[100]]},{other[other[b[100]]]}\t50\tPASS\tDP=3",  # 2 ALTs
        f"{CHROM}\t200\t.\t{seq[199:202]}\t{b[200]}\t.\t.\t.",  # deletion
        f"{CHROM}\t300\t.\t{other[b[300]]}\t{b[300]}\t.\t.\t.",  # REF disagrees
        f"{CHROM}\t400\t.\t{seq[399]}\t<DEL>\t.\t.\t.",
        f"{CHROM}\t500\t.\t{seq[499]}\tN[{CHROM}:900[\t.\t.\t.",
        f"{CHROM}\t600\t.\t{seq[599]}\tR\t.\t.\t.",
        f"{CHROM}\t700\t.\t{seq[699]}\t{seq[699]}{'A' * 60}\t.\t.\t.",
        f"{CHROM}\t5000\t.\t{b[5000]}\t{b[5000]}GGT\t.\t.\t.",  # insertion
        f"{CHROM}\t19990\t.\t{b[19990]}\tN\t.\t.\t.",  # near the end
        "chrQ\t10\t.\tA\tC\t.\t.\t.",
    ]


STATUSES = [
    "ok",
    "ok",
    "ok",
    "ref_mismatch",
    "symbolic_alt",
    "breakend_alt",
    "bad_allele",
    "indel_too_long",
    "ok",
    "near_end",
    "missing_contig",
]


@pytest.mark.parametrize("packing", ["plain", "bgzip", "gzip"])
def test_vcf_round_trip_and_statuses(
    tiny_checkpoints: Mapping[str, Path],
    tmp_path: Path,
    seq: str,
    packing: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = plain = _vcf(tmp_path, _lines(seq))
    gz = packing != "plain"
    if packing == "bgzip":
        pysam.tabix_compress(str(src), str(src) + ".gz")
        src = Path(str(src) + ".gz")
    elif packing == "gzip":  # plain gzip: htslib cannot open it as a VCF; it is decompressed first
        src = Path(str(src) + ".gz")
        src.write_bytes(gzip.compress(plain.read_bytes()))
    out = tmp_path / ("out.vcf.gz" if gz else "out.vcf")
    assert _score(tiny_checkpoints, "--vcf", str(src), "--out", str(out), "--flank", "16") == 0
    err = capsys.readouterr().err
    assert "11 alleles: 4 ok" in err and "1 REF alleles disagree" in err
    if gz:
        with gzip.open(out, "rb") as fh:
            assert fh.read(2)  # bgzip is gzip-readable
    with pysam.VariantFile(str(plain)) as a, pysam.VariantFile(str(out)) as b:
        assert all(k in b.header.info for k in ("HNET_DLL", "HNET_DLL_FWD", "HNET_DLL_RC", "HNET_STATUS"))
        assert "##source=test" in str(b.header) and b.header.info["HNET_DLL"].number == "A"
        recs_a, recs_b = list(a), list(b)
    assert [(r.chrom, r.pos, r.id, r.ref, r.alts, r.qual, r.info.get("DP")) for r in recs_a] == [
        (r.chrom, r.pos, r.id, r.ref, r.alts, r.qual, r.info.get("DP")) for r in recs_b
    ]
    statuses = [s for r in recs_b for s in r.info["HNET_STATUS"]]
    assert statuses == STATUSES
    rows = (tmp_path / "out.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:6] == ["chrom", "pos", "id", "ref", "alt", "status"]
    assert [r.split("\t")[5] for r in rows[1:]] == STATUSES
    first = recs_b[0].info
    assert len(first["HNET_DLL"]) == 2
    assert first["HNET_DLL"][0] == pytest.approx(
        (first["HNET_DLL_FWD"][0] + first["HNET_DLL_RC"][0]) / 2, abs=2e-5
    )
    assert recs_b[3].info["HNET_DLL"] == (None,)  # not scored: VCF missing value


def test_vcf_scores_match_the_library(tiny_checkpoints: Mapping[str, Path], tmp_path: Path, seq: str) -> None:
    src = _vcf(tmp_path, _lines(seq)[:2])
    out = tmp_path / "o.vcf"
    assert _score(tiny_checkpoints, "--vcf", str(src), "--out", str(out), "--flank", "16", "--quiet") == 0
    model, _ = load_pretrained(tiny_checkpoints["dna"])
    assert isinstance(model, (HNetLM, IsotropicLM))
    genome = read_genome(FASTA)
    alt = _lines(seq)[0].split("\t")[4].split(",")[1]
    want = score_variants(model, genome, [Variant(CHROM, 99, seq[99], alt)], flank=16)[0]
    got = (tmp_path / "o.tsv").read_text().splitlines()[2].split("\t")
    assert float(got[6]) == pytest.approx(want.dll, abs=1e-4)


@pytest.mark.parametrize(
    "lines, problem",
    [
        ([], "has no variant records"),
        ([f"{CHROM}\t200\t.\tA\tC\t.\t.\t.", f"{CHROM}\t100\t.\tA\tC\t.\t.\t."], "is not sorted"),
        (
            [f"{CHROM}\t1\t.\tA\tC\t.\t.\t.", "chrQ\t1\t.\tA\tC\t.\t.\t.", f"{CHROM}\t5\t.\tA\tC\t.\t.\t."],
            "is not sorted",
        ),
        ([f"{CHROM}\tx\t.\tA\tC\t.\t.\t."], "malformed"),
    ],
)
def test_bad_vcf_is_one_line_and_no_output(
    tiny_checkpoints: Mapping[str, Path],
    tmp_path: Path,
    lines: list[str],
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = _vcf(tmp_path, lines)
    out = tmp_path / "out.vcf"
    assert _score(tiny_checkpoints, "--vcf", str(src), "--out", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(src) in err[0] and problem in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf"]


def test_not_a_vcf_and_an_audio_checkpoint(
    tiny_checkpoints: Mapping[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.vcf"
    bad.write_text("garbage\n")
    assert _score(tiny_checkpoints, "--vcf", str(bad), "--out", str(tmp_path / "o.vcf")) == 2
    assert "not a readable VCF" in capsys.readouterr().err
    assert (
        main(
            [
                "score",
                "--checkpoint",
                str(tiny_checkpoints["audio"]),
                "--fasta",
                str(FASTA),
                "--out",
                str(tmp_path / "o.tsv"),
            ]
        )
        == 2
    )
    assert "audio checkpoint" in capsys.readouterr().err


def test_sequences_tsv_json_and_tracks(
    tiny_checkpoints: Mapping[str, Path], tmp_path: Path, seq: str
) -> None:
    out, track, ent = tmp_path / "s.tsv", tmp_path / "ll.bedgraph", tmp_path / "h.bedgraph"
    assert (
        _score(
            tiny_checkpoints,
            "--region",
            f"{CHROM}:101-400",
            "--region",
            f"{CHROM}:1001-1100:-",
            "--out",
            str(out),
            "--track",
            str(track),
            "--entropy-track",
            str(ent),
            "--window",
            "128",
            "--quiet",
        )
        == 0
    )
    rows = [r.split("\t") for r in out.read_text().splitlines()]
    assert rows[0][:3] == ["name", "chrom", "start"] and len(rows) == 3
    js = json.loads((tmp_path / "s.json").read_text())["sequences"]
    s0 = js[0]
    assert s0["length"] == 300 and s0["ll_mean"] == pytest.approx((s0["ll_fwd"] + s0["ll_rc"]) / 2)
    assert s0["bits_per_base_fwd"] == pytest.approx(s0["ll_fwd"] / 299)
    lines = track.read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph")
    body = [ln.split("\t") for ln in lines[1:]]
    assert len(body) == 299 + 99
    first = [b for b in body if int(b[1]) < 400]
    assert [int(b[1]) for b in first] == list(range(101, 400))  # base 100 (the first) has no prediction
    assert sum(float(b[3]) for b in first) == pytest.approx(s0["ll_fwd"], abs=0.05)
    minus = [int(b[1]) for b in body if int(b[1]) >= 1000]
    assert minus == list(range(1000, 1099))  # reverse strand: its first byte is forward base 1099
    assert all(float(x.split("\t")[3]) >= 0 for x in ent.read_text().splitlines()[1:])


def test_ism_matrix_matches_single_variants(
    tiny_checkpoints: Mapping[str, Path], tmp_path: Path, seq: str
) -> None:
    out = tmp_path / "ism.tsv"
    assert (
        _score(tiny_checkpoints, "--ism", f"{CHROM}:1001-1030", "--out", str(out), "--flank", "12", "--quiet")
        == 0
    )
    assert (tmp_path / "ism.png").read_bytes()[:4] == b"\x89PNG"
    rows = [r.split("\t") for r in out.read_text().splitlines()]
    assert rows[0] == ["chrom", "pos", "ref", "A", "C", "G", "T", "status"] and len(rows) == 31
    model, _ = load_pretrained(tiny_checkpoints["dna"])
    assert isinstance(model, (HNetLM, IsotropicLM))
    genome = read_genome(FASTA)
    rng = np.random.default_rng(0)
    for i in rng.choice(30, 6, replace=False):
        r = rows[1 + i]
        ref = seq[1000 + i]
        assert r[2] == ref and float(r[3 + "ACGT".index(ref)]) == 0.0
        alt = "ACGT"[(("ACGT".index(ref)) + 1 + int(rng.integers(3))) % 4]
        one = score_variants(
            model, genome, [Variant(CHROM, 1000 + int(i), ref, alt)], flank=12, batch_size=1
        )[0]
        assert float(r[3 + "ACGT".index(alt)]) == pytest.approx(one.dll, abs=1e-5)
    res = saturation_mutagenesis(model, genome, CHROM, 5, 10, flank=12)
    assert res.statuses == ["near_end"] * 5 and np.isnan(res.delta).all()
    assert not math.isnan(float(rows[1][4]) if rows[1][2] != "C" else float(rows[1][3]))


def test_bed_regions_and_mode_conflicts(
    tiny_checkpoints: Mapping[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text(f"{CHROM}\t100\t300\tgeneA\t0\t+\n{CHROM}\t400\t500\tgeneB\t0\t-\n")
    out = tmp_path / "s.tsv"
    ck = str(tiny_checkpoints["dna"])
    assert (
        main(
            [
                "score",
                "--checkpoint",
                ck,
                "--fasta",
                str(FASTA),
                "--bed",
                str(bed),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    rows = [r.split("\t") for r in out.read_text().splitlines()[1:]]
    assert [(r[0], r[3], r[4], r[5]) for r in rows] == [
        ("geneA", "300", "+", "200"),
        ("geneB", "500", "-", "100"),
    ]
    vcf = _vcf(tmp_path, [f"{CHROM}\t200\t.\tA\tC\t.\t.\t."])
    for extra in (
        ["--vcf", str(vcf), "--ism", f"{CHROM}:1-10"],
        ["--vcf", str(vcf), "--bed", str(bed)],
        ["--ism", f"{CHROM}:1-2000"],
        ["--ism", "nochrom:1-10"],
    ):
        assert (
            main(
                ["score", "--checkpoint", ck, "--fasta", str(FASTA), "--out", str(tmp_path / "x.vcf"), *extra]
            )
            == 2
        )
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "x.vcf").exists()
