"""`hnet-bio boundaries`: BED/bedGraph/CSV coordinates, reverse strand, annotation statistics, bad input."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from modalities.annotations import read_annotations
from modalities.dna import read_sequence, reverse_complement
from pipelines.analysis import Analysis, analyze
from pipelines.analysis.boundary_export import export_boundaries
from pipelines.analysis.boundary_files import bed_text
from pipelines.analysis.boundary_stats import GRID, MODEL, RANDOM, annotation_stats
from pipelines.cli import main
from pipelines.inputs import InputSpec, Item
from tests.paths import DATA

ECOLI = DATA / "ecoli_MG1655_20kb.fa"
GBK = DATA / "leptospira_excerpt.gbk"


@pytest.fixture(scope="module")
def ckpt(tiny_checkpoints: Mapping[str, Path]) -> dict[str, Path]:
    return {name: tiny_checkpoints[name] for name in ("dna", "audio", "iso")}


def _analysis(boundary: list[int], probs: list[float]) -> Analysis:
    b = np.array([boundary], dtype=bool)
    return Analysis(len(boundary), np.array([probs], dtype=np.float32), b, np.cumsum(b, 1) - 1, [4.0], 64, 48)


def test_bed_hand_computed() -> None:
    # 6 bytes cut as [0,2) [2,5) [5,6) with p = 1.0, 0.73, 0.5004
    a = _analysis([1, 0, 1, 0, 0, 1], [1.0, 0.1, 0.73, 0.2, 0.3, 0.5004])
    data = np.frombuffer(b"ACGTAC", dtype=np.uint8)
    fwd = Item("r", data, "x.fa", "chr1", 100, "+")
    rev = Item("r", data, "x.fa", "chr1", 100, "-")
    assert bed_text([fwd], [a]) == (
        "chr1\t100\t102\tstage0\t1000\t+\nchr1\t102\t105\tstage0\t730\t+\nchr1\t105\t106\tstage0\t500\t+\n"
    )
    # reverse strand: byte i is forward base 105 - i;
    # chunks [0,2) [2,5) [5,6) -> [104,106) [101,104) [100,101)
    assert bed_text([rev], [a]) == (
        "chr1\t100\t101\tstage0\t500\t-\nchr1\t101\t104\tstage0\t730\t-\nchr1\t104\t106\tstage0\t1000\t-\n"
    )


def _read_bed(path: Path) -> list[tuple[str, int, int, str, int, str]]:
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    return [(c, int(s), int(e), n, int(sc), st) for c, s, e, n, sc, st in rows]


def test_region_keeps_genome_coordinates_and_reverse_strand_maps_back(ckpt: dict, tmp_path: Path) -> None:
    from hnet_bio.checkpoint import load_pretrained

    model, _ = load_pretrained(ckpt["dna"])
    out_f, out_r = tmp_path / "f.bed", tmp_path / "r.bed"
    def region_bed(region: str, out: Path, *extra: str) -> int:
        return main(["boundaries", "--checkpoint", str(ckpt["dna"]), "--fasta", str(ECOLI),
                     "--region", region, "--out", str(out), *extra, "--quiet"])

    assert region_bed("ecoli_MG1655:101-400", out_f) == 0
    assert region_bed("ecoli_MG1655:101-400:-", out_r, "--probs", str(tmp_path / "r.bedgraph")) == 0
    fwd = _read_bed(out_f)
    assert fwd[0][:3] == ("ecoli_MG1655", 100, fwd[1][1]) and fwd[-1][2] == 400
    assert all(a[2] == b[1] for a, b in itertools.pairwise(fwd))  # chunks tile the region
    genome = read_sequence(ECOLI)
    rc = reverse_complement(genome[100:400])
    direct = analyze(model, rc)  # what the model saw: the reverse complement, read left to right
    starts, ends = direct.chunk_bounds(0)
    rows = _read_bed(out_r)
    assert len(rows) == len(starts) and all(r[5] == "-" for r in rows)
    # each BED interval, reverse-complemented from the forward genome, is one chunk the model made
    chunks = {rc[s:e] for s, e in zip(starts.tolist(), ends.tolist())}
    assert all(reverse_complement(genome[s:e]) in chunks for _, s, e, *_ in rows)
    # and in reading order the chunks reproduce the region's reverse complement exactly
    assert b"".join(reverse_complement(genome[s:e]) for _, s, e, *_ in reversed(rows)) == rc
    graph = (tmp_path / "r.bedgraph").read_text().splitlines()
    assert graph[0].startswith("track type=bedGraph")
    runs = [(int(a), int(b)) for _, a, b, _ in (line.split("\t") for line in graph[1:])]
    assert runs[0][0] == 100 and runs[-1][1] == 400 and all(x[1] == y[0] for x, y in itertools.pairwise(runs))
    assert len(runs) <= 300  # equal neighbours share a line (issue 22)
    last = graph[-1].split("\t")  # forward base 399 is the first byte the model read: p = 1
    assert last[2:] == ["400", "1.0000"]


def test_audio_csv_in_seconds(ckpt: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "a.csv"
    assert (
        main(
            [
                "boundaries",
                "--checkpoint",
                str(ckpt["audio"]),
                "--audio",
                str(DATA / "speech_allison_3s.wav"),
                "--out",
                str(out),
                "--window",
                "4000",
                "--stride",
                "3000",
            ]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "file,stage,start_s,end_s,probability"
    first, last = lines[1].split(","), lines[-1].split(",")
    assert first[0] == "speech_allison_3s" and first[2] == "0.000000" and last[3] == "3.000000"
    assert "ms per chunk" in capsys.readouterr().err


def test_annotation_stats_are_exact_on_constructed_segmentations() -> None:
    feats = read_annotations(GBK, types=("CDS",))
    seq = read_sequence(GBK, "NZ_AHMY02000073.1")
    item = Item("x", np.frombuffer(seq, dtype=np.uint8), str(GBK), "NZ_AHMY02000073.1")
    mine = [f for f in feats if f.record == item.chrom]
    assert {f.strand for f in mine} == {"+", "-"}
    codon = np.zeros(item.length, dtype=bool)
    for f in mine:  # a boundary at the first base of every codon, in each gene's own orientation
        if f.strand == "+":
            codon[f.start0 : f.end0 : 3] = True
        else:
            codon[f.end0 - 1 : f.start0 - 1 if f.start0 else None : -3] = True
    stats = annotation_stats([item], {MODEL: [codon[None]]}, feats, flank=10)
    seg = stats.stages[0].segmentations
    phases = seg[MODEL].phase_rate
    for rates in (phases.all, phases.same_strand, phases.opposite_strand):
        assert rates == [1.0, 0.0, 0.0]
    assert seg[MODEL].rate_outside_cds == 0.0
    assert seg[GRID].boundaries == seg[RANDOM].boundaries == seg[MODEL].boundaries == codon.sum()
    assert seg[GRID].phase_contrast < 0.2 < seg[MODEL].phase_contrast
    start = np.array(seg[MODEL].metaplot_start)  # offsets -10..10 around starts: every 3rd base
    assert start[10] == 1.0 and start[11] == 0.0 and start[13] == 1.0 and start[:10].max() < 1.0


def test_own_genbank_annotations_and_outputs(ckpt: dict, tmp_path: Path) -> None:
    out = tmp_path / "l.bed"
    res = export_boundaries(
        ckpt["dna"], out, InputSpec(fasta=str(GBK)), own_annotations=True, random_init_control=True, flank=50
    )
    names = [p.name for p in res.outputs]
    assert names == ["l.bed", "l.cds.json", "l.cds.md", "l.metaplot.png"]
    assert (tmp_path / "l.metaplot.png").read_bytes()[:4] == b"\x89PNG"
    assert res.stats is not None
    segs = res.stats.stages[0].segmentations
    assert set(segs) == {"model", "fixed-grid", "random", "random-init"}
    assert len(segs["model"].metaplot_start) == 101
    # the JSON file: the layout it has always had (keys and their order), the checkpoint as given
    written = json.loads((tmp_path / "l.cds.json").read_text())
    assert list(written) == ["flank", "cds_features", "bases", "stages", "checkpoint"]
    assert written["checkpoint"] == str(ckpt["dna"]) and written["flank"] == 50
    assert list(written["stages"][0]) == ["stage", "segmentations"]
    assert list(written["stages"][0]["segmentations"]) == ["model", "fixed-grid", "random", "random-init"]
    assert list(written["stages"][0]["segmentations"]["model"]) == [
        "boundaries", "bases_in_cds", "bases_outside_cds", "rate_in_cds", "rate_outside_cds", "in_out_ratio",
        "phase_rate", "phase_contrast", "metaplot_start", "metaplot_stop", "metaplot_cds_starts",
        "metaplot_cds_stops"]
    assert list(written["stages"][0]["segmentations"]["model"]["phase_rate"]) == [
        "all", "same_strand", "opposite_strand"]
    assert written["stages"][0]["segmentations"]["model"]["metaplot_start"] == segs["model"].metaplot_start


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--fasta", str(ECOLI), "--region", "chrZ:1-10"], "unknown record name 'chrZ'"),
        (["--fasta", str(ECOLI), "--region", "ecoli_MG1655:19990-20010"], "past the end"),
        (["--audio", str(DATA / "speech_allison_3s.wav")], "dna checkpoint cannot read --audio"),
        (["--fasta", str(ECOLI), "--annotations", str(DATA / "nonexistent.gff3")], "no such annotation file"),
        (["--fasta", str(ECOLI), "--window", "10", "--stride", "20"], "--stride"),
    ],
)
def test_bad_input_one_line_exit_2_no_output(
    ckpt: dict, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    out = tmp_path / "o.bed"
    rc = main(["boundaries", "--checkpoint", str(ckpt["dna"]), *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_wrong_checkpoint_and_existing_output(
    ckpt: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "o.bed"
    assert (
        main(["boundaries", "--checkpoint", str(ckpt["audio"]), "--fasta", str(ECOLI), "--out", str(out)])
        == 2
    )
    assert "audio checkpoint cannot read DNA" in capsys.readouterr().err
    assert (
        main(["boundaries", "--checkpoint", str(ckpt["iso"]), "--fasta", str(ECOLI), "--out", str(out)]) == 2
    )
    assert "isotropic model has no boundaries" in capsys.readouterr().err
    out.write_text("keep me\n")
    assert (
        main(["boundaries", "--checkpoint", str(ckpt["dna"]), "--fasta", str(ECOLI), "--out", str(out)]) == 2
    )
    assert "exists; pass --overwrite" in capsys.readouterr().err and out.read_text() == "keep me\n"
