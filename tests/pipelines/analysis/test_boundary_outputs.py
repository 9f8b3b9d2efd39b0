"""Outputs genome browsers and audio tools read: run-merged bedGraph, bgzip + tabix, bigWig, the
Audacity label track and the Praat TextGrid, unique audio names, a whole record named by its name.
Each is read back with an independent reader (pysam's tabix, pyBigWig) or expanded to per-base truth."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from modalities.regions import parse_region
from pipelines.analysis import Analysis
from pipelines.analysis.boundary_files import audacity_labels_text, bed_text, bedgraph_text, textgrid_text
from pipelines.cli import main
from pipelines.inputs import Item, unique_names
from tests.paths import DATA

ECOLI = DATA / "ecoli_MG1655_20kb.fa"
SPEECH = DATA / "speech_allison_3s.wav"


def _analysis(boundary: list[int], probs: list[float]) -> Analysis:
    b = np.array([boundary], dtype=bool)
    return Analysis(len(boundary), np.array([probs], dtype=np.float32), b, np.cumsum(b, 1) - 1, [4.0], 64, 48)


def _per_base(text: str) -> dict[tuple[str, int], str]:
    """bedGraph lines expanded to one value per base (the old one-line-per-base file)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("track"):
            continue
        chrom, a, b, v = line.split("\t")
        for x in range(int(a), int(b)):
            assert (chrom, x) not in out
            out[(chrom, x)] = v
    return out


def test_bedgraph_merges_equal_neighbours_and_expands_to_every_base() -> None:
    probs = [1.0, 0.00001, 0.00002, 0.00004, 0.7, 0.7, 0.70004, 0.2]
    a = _analysis([1, 0, 0, 0, 1, 1, 1, 0], probs)
    item = Item("r", np.zeros(8, np.uint8), "x.fa", "chr1", 100, "+")
    text = bedgraph_text([item], [a])
    assert text.splitlines()[1:] == ["chr1\t100\t101\t1.0000", "chr1\t101\t104\t0.0000",
                                     "chr1\t104\t107\t0.7000", "chr1\t107\t108\t0.2000"]
    assert _per_base(text) == {("chr1", 100 + i): f"{p:.4f}" for i, p in enumerate(np.float32(probs))}
    rev = Item("r", np.zeros(8, np.uint8), "x.fa", "chr1", 100, "-")  # byte i is base 107 - i
    assert _per_base(bedgraph_text([rev], [a])) == {("chr1", 107 - i): f"{p:.4f}"
                                                     for i, p in enumerate(np.float32(probs))}


def test_bgzip_tabix_and_bigwig_read_back(tiny_checkpoints: Mapping[str, Path], tmp_path: Path) -> None:
    import pysam

    dna = str(tiny_checkpoints["dna"])
    base = ["boundaries", "--checkpoint", dna, "--fasta", str(ECOLI), "--region", "ecoli_MG1655:5001-6000",
            "--region", "ecoli_MG1655:1-800:-", "-q"]
    for out, probs in (("plain.bed", "plain.bedgraph"), ("idx.bed.gz", "idx.bedgraph.gz")):
        assert main([*base, "--out", str(tmp_path / out), "--probs", str(tmp_path / probs)]) == 0
    plain = (tmp_path / "plain.bed").read_text().splitlines()
    with pysam.TabixFile(str(tmp_path / "idx.bed.gz")) as tbx:
        got = list(tbx.fetch("ecoli_MG1655", 5100, 5300))
    want = [line for line in plain if int(line.split("\t")[2]) > 5100 and int(line.split("\t")[1]) < 5300]
    assert sorted(got) == sorted(want) and got
    truth = _per_base((tmp_path / "plain.bedgraph").read_text())  # one stage in the tiny model
    with pysam.TabixFile(str(tmp_path / "idx.bedgraph.gz")) as tbx:
        rows = "\n".join(tbx.fetch("ecoli_MG1655"))
    assert _per_base(rows) == truth and len(truth) == 1800


def test_bigwig_reads_back(tiny_checkpoints: Mapping[str, Path], tmp_path: Path) -> None:
    pyBigWig = pytest.importorskip(
        "pyBigWig", reason="bigWig output needs the optional `tracks` extra: pip install -e .[tracks]")
    dna = str(tiny_checkpoints["dna"])
    base = ["boundaries", "--checkpoint", dna, "--fasta", str(ECOLI), "--region", "ecoli_MG1655:5001-6000",
            "--region", "ecoli_MG1655:1-800:-", "-q"]
    assert main([*base, "--out", str(tmp_path / "w.bed"), "--probs", str(tmp_path / "w.bedgraph")]) == 0
    truth = _per_base((tmp_path / "w.bedgraph").read_text())
    assert main([*base, "--out", str(tmp_path / "x.bed"), "--probs", str(tmp_path / "w.bw")]) == 0
    bw = pyBigWig.open(str(tmp_path / "w.bw"))
    values = bw.values("ecoli_MG1655", 0, 6000)
    bw.close()
    for (_, x), v in truth.items():
        assert values[x] == pytest.approx(float(v), abs=1e-6)
    assert np.isnan(values[900])  # between the regions: no value


def test_unwritable_formats_are_one_line(tiny_checkpoints: Mapping[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    dna = str(tiny_checkpoints["dna"])
    base = ["boundaries", "--checkpoint", dna, "--fasta", str(ECOLI), "--region", "ecoli_MG1655:1-300"]
    assert main([*base, "--out", str(tmp_path / "x.bb")]) == 2
    assert "bigBed is not written" in capsys.readouterr().err
    assert main([*base, "--region", "ecoli_MG1655:201-400", "--out", str(tmp_path / "o.bed"),
                 "--probs", str(tmp_path / "o.bedgraph.gz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "overlap at base 201" in err
    assert not list(tmp_path.iterdir())


def test_audacity_labels_and_textgrid_tile_the_sound() -> None:
    a = _analysis([1, 0, 0, 1, 0, 1, 0, 0], [1.0, 0.1, 0.2, 0.9, 0.3, 0.6, 0.1, 0.1])
    item = Item("digits/1", np.zeros(8, np.uint8), "digits/1.wav", sample_rate=4)
    assert audacity_labels_text(item, a).splitlines() == [
        "0.000000\t0.750000\tstage0 p=1.00", "0.750000\t1.250000\tstage0 p=0.90",
        "1.250000\t2.000000\tstage0 p=0.60"]
    tg = textgrid_text(item, a)
    assert tg.startswith('File type = "ooTextFile"\nObject class = "TextGrid"\n')
    found = re.findall(r"intervals \[\d+\]:\s+xmin = (\S+)\s+xmax = (\S+)", tg)
    bounds = [(float(x), float(y)) for x, y in found]
    assert bounds == [(0.0, 0.75), (0.75, 1.25), (1.25, 2.0)]  # contiguous, 0 to the duration (8 / 4 Hz)
    assert "intervals: size = 3" in tg and 'name = "stage0"' in tg and "size = 1" in tg


def test_audio_names_do_not_collide_and_label_files_per_input(tiny_checkpoints: Mapping[str, Path],
                                                               tmp_path: Path) -> None:
    assert unique_names(["x/digits/1.wav", "x/letters/1.wav", "y/2.wav"]) == ["digits/1", "letters/1", "2"]
    assert unique_names(["a/1.wav", "a/1.wav"]) == ["a/1", "a/1#2"]  # the same file twice
    for folder in ("digits", "letters"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1.wav").write_bytes(SPEECH.read_bytes())
    out = tmp_path / "b.csv"
    wavs = [str(tmp_path / "digits" / "1.wav"), str(tmp_path / "letters" / "1.wav")]
    labels = ["--audacity", str(tmp_path / "l.txt"), "--textgrid", str(tmp_path / "t.TextGrid")]
    assert main(["boundaries", "--checkpoint", str(tiny_checkpoints["audio"]), "--audio", *wavs,
                 "--out", str(out), *labels, "-q"]) == 0
    names = {line.split(",")[0] for line in out.read_text().splitlines()[1:]}
    assert names == {"digits/1", "letters/1"}
    assert (tmp_path / "l.digits_1.txt").read_text() == (tmp_path / "l.letters_1.txt").read_text()
    assert (tmp_path / "t.digits_1.TextGrid").is_file() and (tmp_path / "t.letters_1.TextGrid").is_file()


def test_a_whole_record_is_named_by_its_name() -> None:
    assert str(parse_region("ecoli_MG1655")) == "ecoli_MG1655"
    assert str(parse_region("ecoli_MG1655:-")) == "ecoli_MG1655:-"
    assert str(parse_region("ecoli_MG1655:1-10")) == "ecoli_MG1655:1-10"
    a = _analysis([1, 0], [1.0, 0.1])
    assert bed_text([Item("x", np.zeros(2, np.uint8), "x.fa", "chr1")], [a]).startswith("chr1\t0\t2\t")
