"""`hnet-bio classify`: baseline features against naive counts, the probe's metrics, labels files,
bad input."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from modalities.dna import read_fasta, write_fasta
from pipelines.cli import main
from pipelines.features.baselines import gc_content, kmer_frequencies, logmel_stats
from pipelines.features.probe import Predictions, paired_gap
from pipelines.features.probe_report import ProbeGap
from tests.paths import DATA

SPECIES = {"ecoli": "ecoli_MG1655", "saureus": "saureus_N315", "vcholerae": "vcholerae_O395"}


@pytest.fixture(scope="module")
def setup(tiny_checkpoints: Mapping[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cls")
    records = [(short, read_fasta(DATA / f"{name}_20kb.fa")[0].seq) for short, name in SPECIES.items()]
    write_fasta(records, root / "three.fa")
    lines = ["sequence\tlabel\tsplit"]
    for short, _ in records:
        for i in range(7):
            lines.append(f"{short}:{1 + 300 * i}-{300 * (i + 1)}\t{short}\t{'test' if i >= 5 else 'train'}")
    (root / "split.tsv").write_text("\n".join(lines) + "\n")
    (root / "cv.tsv").write_text("\n".join(line.rsplit("\t", 1)[0] for line in lines[1:]) + "\n")
    return {"root": root, "dna": tiny_checkpoints["dna-step0"], "iso": tiny_checkpoints["iso"],
            "audio": tiny_checkpoints["audio-after-iso"], "fasta": root / "three.fa"}


def test_kmer_and_gc_against_naive_counts() -> None:
    seq = read_fasta(DATA / "ecoli_MG1655_20kb.fa")[0].seq[:500] + b"NNACGTRACG"
    arr = np.frombuffer(seq, dtype=np.uint8)
    for k in (1, 2, 3):
        kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
        words = [seq[i : i + k].decode() for i in range(len(seq) - k + 1)]
        words = [w for w in words if set(w) <= set("ACGT")]
        naive = np.array([words.count(w) for w in kmers]) / len(words)
        np.testing.assert_allclose(kmer_frequencies([arr], k)[0], naive, rtol=1e-6)
    acgt = [c for c in seq.decode() if c in "ACGT"]
    assert gc_content([arr])[0, 0] == pytest.approx(sum(c in "GC" for c in acgt) / len(acgt))


def test_logmel_stats_shape_and_speech_music_differ() -> None:
    from modalities.audio import encode_file

    x = [encode_file(DATA / "speech_allison_3s.wav", 8000), encode_file(DATA / "music_cold_day_3s.wav", 8000)]
    f = logmel_stats(x, 8000)
    assert f.shape == (2, 80) and np.isfinite(f).all() and not np.allclose(f[0], f[1])


def test_metrics_match_sklearn_and_intervals_bracket() -> None:
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c"])
    y = classes[rng.integers(0, 3, 200)]
    proba = rng.dirichlet([1, 1, 1], 200)
    proba[np.arange(200), np.searchsorted(classes, y)] += 0.5
    proba /= proba.sum(1, keepdims=True)
    pred = classes[proba.argmax(1)]
    m = Predictions(y, pred, proba, classes).metrics(n_boot=100)
    assert m.accuracy.value == pytest.approx(accuracy_score(y, pred))
    assert m.macro_f1.value == pytest.approx(f1_score(y, pred, average="macro"))
    assert m.auroc.value == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))
    for v in m.each():
        assert v.low <= v.value <= v.high and v.high - v.low < 0.3
    # binary, with tied scores (midranks) and an imbalanced set
    yb = np.array(["n", "p"])[(rng.random(150) < 0.3).astype(int)]
    pb = np.round(rng.random(150) * 4) / 4 + 0.2 * (yb == "p")
    proba_b = np.stack([1 - pb / 1.2, pb / 1.2], 1)
    predb = np.array(["n", "p"])[(proba_b[:, 1] > 0.5).astype(int)]
    mb = Predictions(yb, predb, proba_b, np.array(["n", "p"])).metrics(n_boot=20)
    assert mb.auroc.value == pytest.approx(roc_auc_score(yb == "p", proba_b[:, 1]))
    assert mb.macro_f1.value == pytest.approx(f1_score(yb, predb, average="macro"))


def _two_probes(n: int, seed: int = 1) -> tuple[Predictions, Predictions]:
    """Two probes on the same n three-class examples whose mistakes are mostly shared (as two
    feature sets of one network's are): b is a with 8% of its answers changed."""
    rng = np.random.default_rng(seed)
    classes = np.array(["a", "b", "c"])
    y = classes[rng.integers(0, 3, n)]
    proba_a = rng.dirichlet([1, 1, 1], n)
    proba_a[np.arange(n), np.searchsorted(classes, y)] += 0.6
    proba_a /= proba_a.sum(1, keepdims=True)
    proba_b = proba_a.copy()
    flip = rng.random(n) < 0.08
    proba_b[flip] = rng.dirichlet([1, 1, 1], int(flip.sum()))
    return (Predictions(y, classes[proba_a.argmax(1)], proba_a, classes),
            Predictions(y, classes[proba_b.argmax(1)], proba_b, classes))


def test_paired_gap_against_the_normal_interval_of_per_example_differences() -> None:
    a, b = _two_probes(3000)
    gap = paired_gap(a, b, n_boot=2000)
    ma, mb = (p.metrics(n_boot=2000) for p in (a, b))
    for g, x, z in zip(gap.each(), ma.each(), mb.each(), strict=True):
        assert g.value == pytest.approx(x.value - z.value, abs=1e-12)
    # accuracy's gap is the mean of d_i = [a right] - [b right]: its interval is the mean's
    d = (a.y == a.pred).astype(float) - (b.y == b.pred).astype(float)
    half = 1.96 * d.std(ddof=1) / np.sqrt(d.size)
    assert gap.accuracy.value - gap.accuracy.low == pytest.approx(half, rel=0.15)
    assert gap.accuracy.high - gap.accuracy.value == pytest.approx(half, rel=0.15)
    assert gap.accuracy.low > 0  # the changed answers are mostly wrong: a is clearly ahead
    assert ProbeGap("a", "b", gap).clear and ProbeGap("b", "a", paired_gap(b, a, n_boot=200)).clear
    # pairing cancels the shared mistakes: far tighter than the two separate intervals combined
    unpaired = np.hypot(ma.accuracy.high - ma.accuracy.low, mb.accuracy.high - mb.accuracy.low)
    assert gap.accuracy.high - gap.accuracy.low < 0.5 * unpaired


def test_paired_gap_of_a_probe_with_itself_is_exactly_zero_and_needs_the_same_examples() -> None:
    a, b = _two_probes(200)
    same = paired_gap(a, a, n_boot=50)
    for m in same.each():
        assert (m.value, m.low, m.high) == (0.0, 0.0, 0.0)
    assert not ProbeGap("a", "a", same).clear
    shifted = Predictions(np.roll(b.y, 1), b.pred, b.proba, b.classes)
    with pytest.raises(ValueError, match="not scored on the same examples"):
        paired_gap(a, shifted)


def test_labels_with_split(setup: dict, capsys: pytest.CaptureFixture) -> None:
    out = setup["root"] / "r.json"
    base = ["classify", "--checkpoint", str(setup["dna"]), "--fasta", str(setup["fasta"]), "--quiet",
            "--kmer-max", "2", "--bootstrap", "50"]
    assert main([*base, "--labels", str(setup["root"] / "split.tsv"), "--baseline-checkpoint",
                 str(setup["iso"]), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["n_train"] == 15 and report["n_test"] == 6 and report["classes"] == sorted(SPECIES)
    names = [r["features"] for r in report["rows"]]
    assert names[0] == "H-Net trained (inner, mean)" and "H-Net random-init (inner, mean)" in names
    assert "isotropic baseline (inner, mean)" in names and names[-2] == "GC content"
    assert names[-1].startswith("k-mer frequencies (k=")
    assert all(0 <= r["metrics"]["accuracy"]["value"] <= 1 for r in report["rows"])
    md = out.with_suffix(".md").read_text()
    assert "| features | dims | accuracy |" in md and "Paired gaps, first minus second, on the same 6" in md
    # each trained row against its random-weights row, learned chunks against the grid, then the
    # embeddings against the isotropic baseline and the k-mers; each gap the rows' difference
    rows = {r["features"]: r["metrics"] for r in report["rows"]}
    pairs = [(g["first"], g["second"]) for g in report["paired_gaps"]]
    trained, control = names[:3], names[3:6]
    assert pairs == [*zip(trained, control, strict=True), (trained[1], trained[2]),
                     (names[0], names[6]), (names[0], names[-1])]
    assert all(c.startswith("H-Net random-init") for c in control)
    for g in report["paired_gaps"]:
        for key in ("accuracy", "macro_f1", "auroc"):
            want = rows[g["first"]][key]["value"] - rows[g["second"]][key]["value"]
            assert g["metrics"][key]["value"] == pytest.approx(want, abs=1e-12)
            low, high = g["metrics"][key]["ci95"]
            assert low <= g["metrics"][key]["value"] <= high


@pytest.mark.slow  # nested CV: 5 outer folds x 7 C values x inner folds, per feature set
def test_labels_without_split_use_cross_validation(setup: dict) -> None:
    base = ["classify", "--checkpoint", str(setup["dna"]), "--fasta", str(setup["fasta"]), "--quiet",
            "--kmer-max", "2", "--bootstrap", "50"]
    out2 = setup["root"] / "cv.json"
    assert main([*base, "--labels", str(setup["root"] / "cv.tsv"), "--no-random-init",
                 "--out", str(out2)]) == 0
    cv = json.loads(out2.read_text())
    assert cv["n_test"] == 0 and cv["rows"][0]["evaluation"] == "out-of-fold (5-fold CV)"


def test_bad_labels_one_line_exit_2(setup: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    one = tmp_path / "one.tsv"
    one.write_text("ecoli:1-100\tx\necoli:101-200\tx\n")
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("ecoli:1-100\tx\nchrQ:1-100\ty\n")
    far = tmp_path / "far.tsv"
    far.write_text("ecoli:1-100\tx\necoli:19990-20100\ty\n")
    out = tmp_path / "r.json"
    cases = [
        (["--checkpoint", str(setup["dna"]), "--fasta", str(setup["fasta"]), "--labels", str(one)],
         "only one class"),
        (["--checkpoint", str(setup["dna"]), "--fasta", str(setup["fasta"]), "--labels", str(unknown)],
         "unknown record name 'chrQ'"),
        (["--checkpoint", str(setup["dna"]), "--fasta", str(setup["fasta"]), "--labels", str(far)],
         "past the end"),
        (["--checkpoint", str(setup["audio"]), "--fasta", str(setup["fasta"]), "--labels",
          str(setup["root"] / "split.tsv")], "audio checkpoint cannot run the dna task"),
        (["--checkpoint", str(setup["dna"]), "--task", "nope"], "unknown task 'nope'"),
    ]
    for argv, message in cases:
        assert main(["classify", *argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert list(tmp_path.glob("r.*")) == []
    out.write_text("{}")
    assert main(["classify", "--checkpoint", str(setup["dna"]), "--task", "coding", "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and out.read_text() == "{}"


@pytest.mark.slow
def test_builtin_tasks_are_balanced_and_split_by_source() -> None:
    from modalities.corpora import CORPORA, corpus_files
    from pipelines.features.tasks import builtin_task

    names = ("dna-bacteria", "dna-annotated", "audio-speech", "audio-music")
    if not all(corpus_files(CORPORA[c]) for c in names):
        pytest.skip("corpora not fetched (hnet-bio data fetch)")
    for name, size in (("organism", 512), ("coding", 200), ("speech-music", 8000)):
        t = builtin_task(name, 6, 4)
        assert {len(x) for x in t.x_train + t.x_test} == {size}
        _, train_counts = np.unique(t.y_train, return_counts=True)
        _, test_counts = np.unique(t.y_test, return_counts=True)
        assert set(train_counts) == {6} and set(test_counts) == {4}
        train = {x.tobytes() for x in t.x_train}
        assert not any(x.tobytes() in train for x in t.x_test)
