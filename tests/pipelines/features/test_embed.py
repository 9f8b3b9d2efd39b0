"""`hnet-bio embed` and `HNetEmbedder`: pooling reads only a sequence's own rows, sklearn contracts hold."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as ec

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.errors import CheckpointError
from modalities.dna import read_fasta
from pipelines.analysis import analyze
from pipelines.cli import main
from pipelines.features.embedder import HNetEmbedder
from pipelines.features.embedding import pool
from pipelines.runs import run_dir as rd
from tests.paths import DATA


@pytest.fixture(scope="module")
def ckpt(tiny_checkpoints: Mapping[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    names = {"dna": "dna-2stage", "iso": "iso-after-2stage", "audio": "audio-after-2stage-iso"}
    out = {key: tiny_checkpoints[name] for key, name in names.items()}
    model, _ = load_pretrained(out["dna"])
    out["run"] = tmp_path_factory.mktemp("ckpt") / "run"
    rd.save_checkpoint(out["run"], 30, model, torch.optim.AdamW(model.parameters()), {"step": 30},
                       {"modality": "dna", "byte_convention": "ascii-upper"})
    return out


def genomes() -> dict[str, bytes]:
    return {name: read_fasta(DATA / f"{name}_20kb.fa")[0].seq
            for name in ("ecoli_MG1655", "saureus_N315", "vcholerae_O395")}


def test_pooling_against_numpy_by_hand(ckpt: dict) -> None:
    model, _ = load_pretrained(ckpt["dna"])
    seq = genomes()["ecoli_MG1655"][:400]
    a = analyze(model, seq, hidden=["stage0", "inner"])
    x = a.hidden["stage0"]  # (400, 32), one row per byte
    np.testing.assert_allclose(pool(a, "stage0", "mean"), x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pool(a, "stage0", "max"), x.max(0))
    np.testing.assert_array_equal(pool(a, "stage0", "last", 0, 100), x[99])
    starts, ends = a.chunk_bounds(0)
    by_chunk = np.stack([x[s:e].mean(0) for s, e in zip(starts, ends)]).mean(0)
    np.testing.assert_allclose(pool(a, "stage0", "chunks"), by_chunk, rtol=1e-5, atol=1e-6)
    inner = a.hidden["inner"]  # one row per stage-1 chunk
    np.testing.assert_allclose(pool(a, "inner", "chunks"), inner.mean(0), rtol=1e-5, atol=1e-6)


def test_padded_batch_equals_singles(ckpt: dict) -> None:
    g = genomes()
    seqs = [g["ecoli_MG1655"][:50], g["saureus_N315"][:700], g["vcholerae_O395"][:333]]
    for level, pooling in [("inner", "mean"), ("decoder", "max"), ("stage1", "last"), ("stage0", "chunks")]:
        emb = HNetEmbedder(str(ckpt["dna"]), level=level, pooling=pooling, batch_size=3).fit()
        batch = emb.transform(seqs)
        singles = np.concatenate([emb.transform([s]) for s in seqs])
        assert batch.shape == (3, emb.n_features_out_)
        np.testing.assert_allclose(batch, singles, rtol=1e-4, atol=1e-5)


def test_pipeline_cross_val_and_clone(ckpt: dict) -> None:
    g = genomes()
    X, y = [], []
    for label, name in enumerate(("ecoli_MG1655", "saureus_N315")):
        X += [g[name][i : i + 120] for i in range(0, 1200, 120)]
        y += [label] * 10
    pipe = make_pipeline(HNetEmbedder(str(ckpt["dna"]), batch_size=10), StandardScaler(),
                         LogisticRegression(max_iter=500))
    scores = cross_val_score(pipe, X, np.array(y), cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    emb = HNetEmbedder(str(ckpt["dna"]), level="decoder", pooling="max")
    twin = clone(emb)
    assert twin.get_params() == emb.get_params() and not hasattr(twin, "model_")
    twin.set_params(level="stage0")
    assert twin.fit().transform(["ACGT"]).shape == (1, 32) and emb.level == "decoder"


@pytest.mark.parametrize("check", [
    ec.check_no_attributes_set_in_init, ec.check_parameters_default_constructible,
    ec.check_get_params_invariance, ec.check_set_params, ec.check_estimator_cloneable,
    ec.check_estimator_repr, ec.check_estimators_unfitted, ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_valid_tag_types, ec.check_estimator_tags_renamed, ec.check_mixin_order,
])
def test_sklearn_estimator_checks(check: object, ckpt: dict) -> None:
    # The array-input checks do not apply (X is a list of sequences, not a numeric matrix).
    check("HNetEmbedder", HNetEmbedder(str(ckpt["dna"])))


def test_embed_cli_npz_with_regions_and_windows(ckpt: dict, tmp_path: Path) -> None:
    out = tmp_path / "e.npz"
    fa = str(DATA / "ecoli_MG1655_20kb.fa")
    assert main(["embed", "--checkpoint", str(ckpt["dna"]), "--fasta", fa, "--region", "ecoli_MG1655:1-300",
                 "--region", "ecoli_MG1655:1001-1300:-", "--out", str(out), "--quiet"]) == 0
    z = np.load(out)
    assert z["embeddings"].shape == (2, 64) and str(z["level"]) == "inner"
    assert z["start"].tolist() == [0, 1000] and z["end"].tolist() == [300, 1300]
    assert z["strand"].tolist() == ["+", "-"] and z["name"].tolist()[1] == "ecoli_MG1655:1001-1300:-"
    out2 = tmp_path / "w.npz"
    assert main(["embed", "--checkpoint", str(ckpt["dna"]), "--fasta", fa,
                 "--region", "ecoli_MG1655:1001-1300:-", "--per-window", "128", "--level", "decoder",
                 "--out", str(out2), "--quiet"]) == 0
    w = np.load(out2)
    assert w["window_start"].tolist() == [0, 128, 256]
    # reverse strand, forward coordinates: the first window read is the right end of the region
    assert w["start"].tolist() == [1172, 1044, 1000] and w["end"].tolist() == [1300, 1172, 1044]


def test_embed_parquet_has_the_same_vectors(ckpt: dict, tmp_path: Path) -> None:
    fa = str(DATA / "ecoli_MG1655_20kb.fa")
    args = ["embed", "--checkpoint", str(ckpt["dna"]), "--fasta", fa, "--region", "ecoli_MG1655:1-200",
            "--region", "ecoli_MG1655:301-450", "--pooling", "max", "--quiet", "--out"]
    assert main([*args, str(tmp_path / "e.npz")]) == 0 and main([*args, str(tmp_path / "e.parquet")]) == 0
    table = pq.read_table(tmp_path / "e.parquet")
    z = np.load(tmp_path / "e.npz")
    np.testing.assert_array_equal(np.array(table.column("embedding").to_pylist(), dtype=np.float32),
                                  z["embeddings"])
    assert table.column("start").to_pylist() == [0, 300] and table.schema.metadata[b"pooling"] == b"max"


def test_embed_bad_input(ckpt: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fa = str(DATA / "ecoli_MG1655_20kb.fa")
    out = tmp_path / "e.npz"
    cases = [
        (["--checkpoint", str(ckpt["dna"]), "--fasta", fa, "--level", "stage7"], "--level 'stage7'"),
        (["--checkpoint", str(ckpt["iso"]), "--fasta", fa, "--pooling", "chunks"],
         "isotropic model has no chunks"),
        (["--checkpoint", str(ckpt["audio"]), "--fasta", fa], "audio checkpoint cannot read DNA"),
        (["--checkpoint", str(ckpt["dna"]), "--fasta", fa, "--region", "nope:1-10"], "unknown record name"),
    ]
    for argv, message in cases:
        assert main(["embed", *argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
        assert not out.exists()


def test_embedder_audio_floats_equal_mulaw_bytes(ckpt: dict) -> None:
    from modalities.audio import load_audio, mu_law_encode

    wave, rate = load_audio(DATA / "speech_allison_3s.wav", 8000)
    wave = wave[:2000]
    emb = HNetEmbedder(str(ckpt["audio"]), level="stage0", pooling="mean").fit()
    from_floats = emb.transform([wave])
    from_bytes = emb.transform([mu_law_encode(wave)])
    assert emb.modality_ == "audio" and rate == 8000
    np.testing.assert_array_equal(from_floats, from_bytes)


def test_embedder_takes_what_every_checkpoint_option_takes(ckpt: dict) -> None:
    seqs = [genomes()["ecoli_MG1655"][:300]]
    direct = HNetEmbedder(str(ckpt["dna"])).fit().transform(seqs)
    for spec in (ckpt["run"], f"{ckpt['run']}@last", f"{ckpt['run']}@30"):  # the same weights, saved in a run
        np.testing.assert_array_equal(HNetEmbedder(str(spec)).fit().transform(seqs), direct)
    with pytest.raises(CheckpointError, match="no-such-model: no such checkpoint directory"):
        HNetEmbedder("no-such-model").fit()
