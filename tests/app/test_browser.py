"""The boundary browser (app/) driven through streamlit's AppTest, on tiny models saved to tmp dirs.

Truth is computed independently of the app: boundary decisions from a direct forward of the model
(`LMOutput.stages[s].boundary_mask`), agreement from Python sets, exports against the files
`hnet-bio boundaries` writes for the same input.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from modalities.audio import encode_file
from modalities.dna import read_fasta
from tests.paths import DATA, ROOT

APP = ROOT / "app" / "main.py"
ECOLI = DATA / "ecoli_MG1655_20kb.fa"
GBK = DATA / "leptospira_excerpt.gbk"
SPEECH = DATA / "speech_allison_3s.wav"


@pytest.fixture(scope="module")
def ckpt(tiny_checkpoints: Mapping[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    names = {"dna": "dna", "dna-seed1": "dna-seed1", "dna2": "dna-2stage-seed2", "audio": "audio",
             "iso": "iso-ascii-upper"}
    empty = tmp_path_factory.mktemp("browser-ckpt") / "empty-dir"
    empty.mkdir()
    return {**{key: tiny_checkpoints[name] for key, name in names.items()}, "empty-dir": empty}


def start(monkeypatch: pytest.MonkeyPatch, checkpoint: Path | str, data: Path | str, region: str = "",
          window: int | None = None, position: int | None = None) -> AppTest:
    monkeypatch.setenv("HNET_BIO_BROWSE_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("HNET_BIO_BROWSE_DATA", str(data))
    monkeypatch.setenv("HNET_BIO_BROWSE_REGION", region)
    if position is None:
        monkeypatch.delenv("HNET_BIO_BROWSE_POSITION", raising=False)
    else:
        monkeypatch.setenv("HNET_BIO_BROWSE_POSITION", str(position))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    if window is not None:
        at.number_input(key="window").set_value(window).run()
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def position(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "showing" in m.value)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


def traces(chart: object) -> dict[str, dict]:
    """A plotly chart's traces by name (the first of each name), as the page sends them."""
    out: dict[str, dict] = {}
    for t in json.loads(chart.proto.spec)["data"]:  # type: ignore[attr-defined]
        out.setdefault(t.get("name", ""), t)
    return out


def values(v: object) -> np.ndarray:
    """A trace's x/y/z as an array: plotly 6 sends numeric arrays as {dtype, bdata (base64), shape}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        shape = v.get("shape")
        return a.reshape([int(n) for n in str(shape).split(",")]) if shape else a
    return np.array(v, dtype=float)


def forward_boundaries(ckpt_dir: Path, data: np.ndarray) -> list[np.ndarray]:
    """Per stage, the (L,) boundary flags of one direct forward (stage s >= 1 mapped to bytes)."""
    from hnet_bio.checkpoint import load_pretrained

    model, _ = load_pretrained(ckpt_dir)
    model.eval()
    with torch.inference_mode():
        out = model(torch.from_numpy(data.astype(np.int64))[None])
    pos = np.arange(data.size)
    flags = []
    for st in out.stages:
        mask = st.boundary_mask[0][st.mask[0]].numpy()
        f = np.zeros(data.size, dtype=bool)
        f[pos[mask]] = True
        flags.append(f)
        pos = pos[mask]
    return flags


def test_dna_view_genbank_two_stage(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    region = "NZ_AHMY02000073.1:1-1500"
    at = start(monkeypatch, ckpt["dna2"], GBK, region)
    ok(at)
    assert "NZ_AHMY02000073.1:1-1,500" in position(at)
    seq = np.frombuffer(read_fasta(GBK)[0].seq[:1500], dtype=np.uint8)
    flags = forward_boundaries(ckpt["dna2"], seq)
    for s, f in enumerate(flags):  # mean bytes per chunk on screen: length / boundaries of a direct forward
        assert metric(at, f"stage {s}: mean bytes") == f"{1500 / f.sum():.2f}"
    assert flags[1].sum() <= flags[0].sum() and not (flags[1] & ~flags[0]).any()  # nested
    html = next(h.value for h in at.get("html") if "hnet-seq" in h.value)
    assert html.count("<span style=\"background") == 1500  # every base, once
    assert html.count('<b style="color:#d62728">|</b>') == int(flags[1].sum())  # stage-1 cuts marked
    # tracks + a histogram per stage + the CDS metaplot (the excerpt's record has CDS on screen)
    assert len(charts(at)) == 1 + 2 + 1
    assert not at.info
    assert "Export → whole input" in at.caption[-1].value
    # the metaplot over the whole input once it is analysed (Export -> whole input)
    at.radio(key="export_scope").set_value("whole input").run()
    at.toggle(key="export_whole").set_value(True).run()
    ok(at)
    assert not any("Export → whole input" in c.value for c in at.caption)


def test_metaplot_bins_average_offsets() -> None:
    from app.dna_view import binned

    rate = np.arange(-10, 11, dtype=float)  # rate at offset o is o
    x, y = binned(rate, 9)
    assert x.tolist() == [-9, 0, 9]
    assert y.tolist() == [np.mean(range(-10, -4)), 0.0, np.mean(range(5, 11))]


def test_dna_view_without_annotations_says_so(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(monkeypatch, ckpt["dna"], ECOLI, window=800)
    ok(at)
    assert "no CDS annotations" in at.info[0].value
    assert len(charts(at)) == 1 + 1


def test_typed_bases(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(monkeypatch, ckpt["dna"], ECOLI)
    at.radio(key="mode").set_value("typed bases").run()
    at.text_area(key="typed").set_value("ACGTACGGTTAC\nGGATCCAAT 123").run()
    ok(at)
    assert "typed:1-21" in position(at)


def test_upload_gff3_with_features(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    gff = DATA / "ecoli_contig_excerpt.gff3"
    at = start(monkeypatch, ckpt["dna"], ECOLI)
    at.radio(key="mode").set_value("upload").run()
    assert "upload a file" in at.error[0].value
    at.file_uploader(key="upload").upload(gff.name, gff.read_bytes()).run()
    ok(at)
    assert "BAC_00087:1-1,152" in position(at)
    assert len(charts(at)) == 1 + 1 + 1  # tracks, histogram, metaplot of the 3 CDS


def test_audio_view(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(monkeypatch, ckpt["audio"], SPEECH)
    ok(at)
    # audio has its own bytes per screen: one second at the checkpoint's rate (8 kHz), not 2,000 samples
    assert at.number_input(key="window_audio").value == 8000
    assert "0.00-1.00 s of 0.00-3.00 s" in position(at)
    assert len(at.get("audio")) == 1
    data = encode_file(SPEECH, 8000)[:8000]
    (flags,) = forward_boundaries(ckpt["audio"], data)
    assert metric(at, "stage 0: mean ms per chunk") == f"{8000 / flags.sum() / 8:.2f}"
    assert len(charts(at)) == 2  # waveform/spectrogram/probability figure + ms histogram
    t = traces(charts(at)[0])
    z = values(t["spectrogram"]["z"])  # (frequencies, frames): 129 x 251 for 1 s, hop 32
    assert z.shape == (129, 8000 // 32 + 1)
    assert np.ptp(z.max(axis=0)) > 10 and np.ptp(z.max(axis=1)) > 10  # varies in time and frequency
    # one second: boundaries per 10 ms bin (80 samples), not a wall of 1 line per boundary
    assert "stage 0 boundaries" not in t
    bars = values(t["stage 0: fraction of samples cut (10 ms bins)"]["y"])
    assert np.allclose(bars, flags.reshape(100, 80).mean(axis=1))
    assert values(t["stage 0 p (mean per 10 ms bin)"]["y"]).size == 100
    at.number_input(key="window_audio").set_value(800).run()  # 0.1 s: each boundary drawn
    assert "0.00-0.10 s of 0.00-3.00 s" in position(at)
    t = traces(charts(at)[0])
    assert values(t["stage 0 p"]["y"]).size == 800 and "stage 0 boundaries" in t
    at.number_input(key="window_audio").set_value(4000).run()
    assert "0.00-0.50 s of 0.00-3.00 s" in position(at)
    at.number_input(key="jump_s").set_value(2.0).run()
    at.button(key="go").click().run()
    ok(at)
    assert "2.00-2.50 s" in position(at)


def test_paging_next_previous_jump_and_cache(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.compute import result_cache

    at = start(monkeypatch, ckpt["dna"], ECOLI, window=500)
    ok(at)
    assert "ecoli_MG1655:1-500 of ecoli_MG1655:1-20,000 · screen 1 of 40" in position(at)
    assert at.button(key="prev").disabled
    at.button(key="next").click().run()
    assert "ecoli_MG1655:501-1,000" in position(at)
    before = result_cache().computed
    at.button(key="prev").click().run()  # seen before: served from the cache
    assert "ecoli_MG1655:1-500" in position(at)
    assert result_cache().computed == before
    at.number_input(key="jump").set_value(19_801).run()
    at.button(key="go").click().run()
    ok(at)
    assert "ecoli_MG1655:19,501-20,000" in position(at)  # the last full screen
    assert at.button(key="next").disabled
    at.number_input(key="jump").set_value(25_000).run()
    at.button(key="go").click().run()
    assert "outside the input" in at.warning[0].value
    assert "ecoli_MG1655:19,501-20,000" in position(at)


def test_compare_agreement(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(monkeypatch, ckpt["dna"], ECOLI, window=1000)
    at.text_input(key="compare").set_value(str(ckpt["dna"])).run()
    ok(at)
    assert metric(at, "boundary agreement") == "1.000"
    at.text_input(key="compare").set_value(str(ckpt["dna-seed1"])).run()
    ok(at)
    seq = np.frombuffer(read_fasta(ECOLI)[0].seq[:1000], dtype=np.uint8)
    a = set(np.flatnonzero(forward_boundaries(ckpt["dna"], seq)[0]).tolist())
    b = set(np.flatnonzero(forward_boundaries(ckpt["dna-seed1"], seq)[0]).tolist())
    assert metric(at, "boundary agreement") == f"{2 * len(a & b) / (len(a) + len(b)):.3f}"
    assert len([c for c in charts(at)]) == 2 + 1  # both track figures, one histogram
    at.text_input(key="compare").set_value(str(ckpt["audio"])).run()
    assert "comparison:" in at.error[0].value and "audio checkpoint" in at.error[0].value
    assert position(at)  # the first view still stands


def test_export_buttons_and_files(ckpt: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    from app.compare_export import export_text, figure_png
    from app.compute import WHOLE, load_checkpoint, page_analysis
    from app.dna_view import page_item
    from app.inputs import Source
    from app.paging import Page
    from pipelines.analysis.boundary_export import export_boundaries
    from pipelines.inputs import InputSpec, dna_items

    at = start(monkeypatch, ckpt["dna"], ECOLI, window=1000)
    ok(at)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["BED (on screen)", "bedGraph (on screen)"]  # the PNG is drawn when asked for
    at.toggle(key="export_png").set_value(True).run()
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["BED (on screen)", "bedGraph (on screen)", "figure (PNG)"]
    at.radio(key="export_scope").set_value("whole input").run()
    at.toggle(key="export_whole").set_value(True).run()
    ok(at)
    assert [b.label for b in at.get("download_button")] == ["BED (whole input)", "bedGraph (whole input)"]

    # whole input: byte for byte what `hnet-bio boundaries` writes
    loaded = load_checkpoint(str(ckpt["dna"]))
    item = dna_items(ECOLI)[0]
    source = Source("dna", item, "test-ecoli")
    whole = page_analysis(loaded, item.data, source.key, 0, WHOLE)
    export_boundaries(ckpt["dna"], tmp_path / "ref.bed", InputSpec(fasta=str(ECOLI)),
                      probs=tmp_path / "ref.bedgraph")
    assert export_text("BED", item, whole)[1] == (tmp_path / "ref.bed").read_text()
    assert export_text("bedGraph", item, whole)[1] == (tmp_path / "ref.bedgraph").read_text()
    # on screen: genome coordinates of the page, chunk starts where a direct forward of page cuts
    page = Page(3000, 1000)
    shown = page_analysis(loaded, item.data, source.key, page.start, page.length)
    name, bed = export_text("BED", page_item(source, page), shown)
    starts = [int(line.split("\t")[1]) for line in bed.splitlines()]
    assert name.endswith(".bed") and all(3000 <= s < 4000 for s in starts)
    assert starts == (3000 + np.flatnonzero(shown.boundary[0])).tolist()
    png = figure_png("dna", page_item(source, page), shown, [])
    (tmp_path / "f.png").write_bytes(png)
    assert mpimg.imread(tmp_path / "f.png").shape[0] > 100


def test_audio_export_csv_in_seconds(ckpt: dict) -> None:
    from app.compare_export import export_text
    from app.compute import WHOLE, load_checkpoint, page_analysis
    from pipelines.inputs import audio_items

    item = audio_items([SPEECH], 8000)[0]
    a = page_analysis(load_checkpoint(str(ckpt["audio"])), item.data, "test-speech", 0, WHOLE)
    name, text = export_text("CSV", item, a)
    rows = [line.split(",") for line in text.splitlines()[1:]]
    assert name.endswith(".csv") and len(rows) == a.chunk_count(0)
    assert [round(float(r[2]) * 8000) for r in rows] == np.flatnonzero(a.boundary[0]).tolist()


@pytest.mark.parametrize("case", ["missing file", "empty file", "not sequence", "unknown record",
                                  "region out of range", "wrong modality", "not a checkpoint",
                                  "unknown checkpoint name", "isotropic", "bad typed bases"])
def test_bad_input_is_one_error_and_the_app_recovers(
    case: str, ckpt: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = start(monkeypatch, ckpt["dna"], ECOLI, window=500)
    ok(at)
    empty = tmp_path / "empty.fa"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.fa"
    junk.write_bytes(bytes(range(256)) * 4)
    edits = {
        "missing file": ("path", str(tmp_path / "nope.fa"), "no such file"),
        "empty file": ("path", str(empty), "empty file"),
        "not sequence": ("path", str(junk), str(junk)),
        "unknown record": ("region", "chrZ:1-100", "unknown record name 'chrZ'; the file's only record is "
                                                   "ecoli_MG1655"),
        "region out of range": ("region", "ecoli_MG1655:19000-30000", "past the end"),
        "wrong modality": ("ckpt", str(ckpt["audio"]), "audio checkpoint cannot read dna input"),
        "not a checkpoint": ("ckpt", str(ckpt["empty-dir"]), "missing config.json"),
        "unknown checkpoint name": ("ckpt", "no-such-model", "no-such-model"),
        "isotropic": ("ckpt", str(ckpt["iso"]), "isotropic model has no boundaries"),
        "bad typed bases": ("typed", "ACGTXACGT", "invalid character 'X'"),
    }
    key, value, message = edits[case]
    if key == "typed":
        at.radio(key="mode").set_value("typed bases").run()
        at.text_area(key="typed").set_value(value).run()
    else:
        at.text_input(key=key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert "Traceback" not in at.error[0].value
    # the next good input works
    if key == "typed":
        at.text_area(key="typed").set_value("ACGTACGT").run()
    else:
        good = {"path": str(ECOLI), "region": "", "ckpt": str(ckpt["dna"])}[key]
        at.text_input(key=key).set_value(good).run()
    ok(at)
    assert charts(at)


def test_dna_input_in_the_checkpoint_convention(tmp_path: Path) -> None:
    from app.inputs import Choice, load_source
    from hnet_bio.metadata import CheckpointMetadata

    fa = tmp_path / "soft.fa"
    fa.write_text(">r\nACGTacgtNN\n")
    choice = Choice("ckpt", "", "file path", str(fa), "", "", None, 100)
    soft = load_source(choice, CheckpointMetadata(modality="dna", byte_convention="ascii-softmask"))
    upper = load_source(choice, CheckpointMetadata(modality="dna", byte_convention="ascii-upper"))
    assert soft.item.data.tobytes() == b"ACGTacgtNN" and upper.item.data.tobytes() == b"ACGTACGTNN"
    assert soft.key != upper.key  # the result cache never mixes the two


def test_new_input_opens_at_its_start(ckpt: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The start-up position (dna-sample's gene-rich stretch) belongs to the start-up input only."""
    at = start(monkeypatch, ckpt["dna"], ECOLI, position=10_001)
    ok(at)
    assert "ecoli_MG1655:10,001-12,000" in position(at)  # the start-up input at its start-up position
    at.text_input(key="path").set_value(str(GBK)).run()  # another file: its start
    ok(at)
    assert "NZ_AHMY02000073.1:1-2,000" in position(at) and "screen 1 of" in position(at)
    copy = tmp_path / "ecoli-copy.fa"
    copy.write_bytes(ECOLI.read_bytes())
    at.text_input(key="path").set_value(str(copy)).run()  # same bases, another file: still its start
    assert "ecoli_MG1655:1-2,000" in position(at)
    at.text_input(key="region").set_value("ecoli_MG1655:5001-9000").run()  # a region: its start
    assert "ecoli_MG1655:5,001-7,000 of ecoli_MG1655:5,001-9,000" in position(at)
    at.radio(key="mode").set_value("typed bases").run()
    at.text_area(key="typed").set_value("ACGT" * 600).run()
    assert "typed:1-2,000" in position(at)


def multi_record_fasta(path: Path, names: list[str], length: int = 600) -> list[bytes]:
    seq = read_fasta(ECOLI)[0].seq
    seqs = [seq[i * length : (i + 1) * length] for i in range(len(names))]
    path.write_text("".join(f">{n}\n{s.decode()}\n" for n, s in zip(names, seqs)))
    return seqs


def test_record_picker_and_unknown_record(ckpt: dict, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    fa = tmp_path / "three.fa"
    seqs = multi_record_fasta(fa, ["r1", "r2", "r3"])
    at = start(monkeypatch, ckpt["dna"], fa)
    ok(at)
    picker = at.selectbox(key="record")
    assert picker.options == ["r1", "r2", "r3"] and picker.value == "r1"
    assert "r1:1-600" in position(at)
    at.selectbox(key="record").set_value("r3").run()
    ok(at)
    assert at.text_input(key="region").value == "r3" and "r3:1-600" in position(at)
    html = next(h.value for h in at.get("html") if "hnet-seq" in h.value)
    assert seqs[2][:50].decode() in "".join(c for c in html if c in "ACGT")  # record 3's bases on screen
    at.text_input(key="region").set_value("r2:101-300").run()  # a region moves the picker too
    assert at.selectbox(key="record").value == "r2" and "r2:101-300" in position(at)
    at.text_input(key="region").set_value("r9").run()
    assert len(at.error) == 1
    assert "unknown record name 'r9'; the file's 3 records: r1, r2, r3" in at.error[0].value
    # a long list: the closest names, and where to find them all
    many = tmp_path / "many.fa"
    multi_record_fasta(many, [f"contig_{i:03d}" for i in range(33)], 60)
    at.text_input(key="path").set_value(str(many)).run()
    at.text_input(key="region").set_value("contig_17").run()
    err = at.error[0].value
    assert "the file has 33 records (closest: contig_017" in err and "sidebar's record list" in err
    assert len(at.selectbox(key="record").options) == 33


def test_zoomed_out_summary_and_zoomed_in_detail(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.dna_view import DETAIL_MAX, summary_bin

    assert [summary_bin(n) for n in (100, 400, 2000, 2001, 5000, 20_000)] == [1, 5, 20, 50, 50, 200]
    at = start(monkeypatch, ckpt["dna2"], ECOLI)  # 2,000 bases per screen: per-bin summary
    ok(at)
    seq = np.frombuffer(read_fasta(ECOLI)[0].seq[:2000], dtype=np.uint8)
    flags = forward_boundaries(ckpt["dna2"], seq)
    t = traces(charts(at)[0])
    assert "bases" not in t and "stage 0 boundaries" not in t  # no barcode, no per-base scribble
    for s, f in enumerate(flags):  # boundaries per 100 bases in 20-base bins, against a direct forward
        bars = values(t[f"stage {s} boundaries per 100 bases (20-base bins)"]["y"])
        assert np.allclose(bars, 100 * f.reshape(100, 20).sum(axis=1) / 20)
        assert values(t[f"stage {s} p (mean per 20-base bin)"]["y"]).size == 100
    at.number_input(key="window").set_value(DETAIL_MAX).run()  # zoomed in: base by base
    ok(at)
    t = traces(charts(at)[0])
    assert values(t["stage 0 p"]["y"]).size == DETAIL_MAX and "stage 1 boundaries" in t
    assert [n for n in t if n.startswith("base ")] == ["base A", "base C", "base G", "base T",
                                                      "base other (N, IUPAC)"]  # the colour legend
    jump = at.number_input(key="jump")  # an integer base, labelled
    assert jump.value == 1 and jump.label.startswith("jump to base")


def test_metaplot_says_it_is_binned(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(monkeypatch, ckpt["dna"], GBK, "NZ_AHMY02000073.1:1-1500")
    ok(at)
    assert any(c.value.startswith("Binned: each point is the mean boundary rate over 9 bp")
               for c in at.caption)
    fig = json.loads(charts(at)[-1].proto.spec)
    assert "9 bp bins" in fig["layout"]["title"]["text"]


def test_data_root_limits_what_the_page_opens(ckpt: dict, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    inside = root / "ecoli.fa"
    inside.write_bytes(ECOLI.read_bytes())
    secret = tmp_path / "secret.fa"
    secret.write_text(">secret\nACGTACGTAC\n")
    (root / "link.fa").symlink_to(secret)
    monkeypatch.setenv("HNET_BIO_BROWSE_DATA_ROOT", str(root))
    at = start(monkeypatch, ckpt["dna"], inside)  # the start-up checkpoint may lie outside the root
    ok(at)
    refused = [str(secret), str(root / "link.fa"), str(root / "sub" / ".." / ".." / "secret.fa"),
               str(tmp_path / "missing.fa"), "/etc/passwd"]
    for path in refused:  # outside, through a symlink, through '..', missing: the same refusal
        at.text_input(key="path").set_value(path).run()
        assert not at.exception
        assert len(at.error) == 1 and "outside the data root of this server" in at.error[0].value, path
        assert "no such file" not in at.error[0].value and not charts(at)
    at.text_input(key="path").set_value(str(root / "sub" / ".." / "ecoli.fa")).run()  # '..' that stays in
    ok(at)
    at.text_input(key="path").set_value("dna-sample").run()  # the shipped genome is always there
    ok(at)
    at.text_input(key="ckpt").set_value(str(ckpt["dna-seed1"])).run()
    assert "outside the data root" in at.error[0].value
    at.text_input(key="ckpt").set_value(str(ckpt["dna"])).run()
    at.text_input(key="compare").set_value(str(ckpt["dna-seed1"])).run()
    assert "comparison:" in at.error[0].value and "outside the data root" in at.error[0].value


def test_upload_size_limits(ckpt: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    monkeypatch.setenv("HNET_BIO_BROWSE_MAX_UPLOAD_MB", "1")
    at = start(monkeypatch, ckpt["dna"], ECOLI)
    at.radio(key="mode").set_value("upload").run()
    big = b">big\n" + b"ACGT" * 300_000  # 1.2 MB
    at.file_uploader(key="upload").upload("big.fa", big).run()
    assert len(at.error) == 1
    assert "big.fa: upload of 1.2 MB is over this server's limit of 1 MB" in at.error[0].value
    bomb = gzip.compress(b">bomb\n" + b"A" * 17_000_000)  # 17 KB that would be 17 MB in memory
    at.file_uploader(key="upload").upload("bomb.fa.gz", bomb).run()
    assert len(at.error) == 1 and "bomb.fa.gz: decompresses to more than 16 MB" in at.error[0].value
    at.file_uploader(key="upload").upload("small.fa.gz", gzip.compress(b">small\n" + b"ACGT" * 200)).run()
    ok(at)
    assert "small:1-800" in position(at)
