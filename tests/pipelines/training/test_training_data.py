"""What pretrain makes of a user's data, checked before training: sizes, held-out split, sample rate.

The too-small cases also appear in tests/pipelines/test_input_catalogue.py through the CLI; here the
accepting side: a one-record 20 kb FASTA with configs/tiny-1stage.json (its tail held out and
lengthened to one window, and the start of the run says so), and a user's audio folder (its own
rate recorded in the checkpoint, the folders it drew from named).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from hnet_bio.checkpoint import read_metadata
from pipelines.cli import main
from pipelines.runs.run_dir import RunDir
from pipelines.training.train_config import apply_overrides, read_config
from pipelines.training.training_data import DataTooSmall, open_training_data
from tests.paths import CONFIGS, DATA

ECOLI = DATA / "ecoli_MG1655_20kb.fa"


pytestmark = pytest.mark.usefixtures("cache_dir")


def _cfg(data: object, **overrides: object):
    cfg = read_config(CONFIGS / "tiny-1stage.json")
    return apply_overrides(cfg, {"data.corpus": data, **overrides})


def test_one_record_holds_out_its_tail_lengthened_to_a_window() -> None:
    """20,000 bp, 5% = 1,000 bytes < one 1,025-byte window: the tail becomes exactly one window."""
    got = open_training_data(_cfg(str(ECOLI)))
    assert got.train_corpus.lengths == [20_000 - 1025] and got.eval_corpus.lengths == [1025]
    assert len(got.eval_set) == 1
    (unit_t,), (unit_e,) = got.train_corpus.units, got.eval_corpus.units
    assert unit_e.offset == unit_t.offset + unit_t.length  # the contiguous tail, nothing shared
    said = "\n".join(got.notes)
    assert "last 5% of record 'ecoli_MG1655'" in said and "lengthened to one evaluation window" in said
    assert "1,025 of 20,000 bytes" in said


def test_three_genomes_each_give_their_tail() -> None:
    names = ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa", "vcholerae_O395_20kb.fa")
    files = [str(DATA / f) for f in names]
    got = open_training_data(_cfg(files, **{"train.seq_len": "256"}))
    assert got.eval_corpus.lengths == [1000] * 3 and got.train_corpus.lengths == [19_000] * 3
    assert len(got.eval_set) == 3 * (1000 // 257)
    assert any("last 5% of each of the 3 files" in n for n in got.notes)


@pytest.mark.parametrize("seq_len,fits", [(255, True), (20_000, False)])
def test_window_must_fit_the_training_part(seq_len: int, fits: bool) -> None:
    cfg = _cfg(str(ECOLI), **{"train.seq_len": str(seq_len)})
    if fits:
        assert open_training_data(cfg).train_set.length == seq_len + 1
        return
    with pytest.raises(DataTooSmall, match=r"ecoli_MG1655_20kb\.fa: too small to train on: .*20,000 bytes"):
        open_training_data(cfg)


def test_audio_folder_trains_at_its_own_rate_and_says_what_it_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my-audio"
    (folder / "speech").mkdir(parents=True)
    (folder / "silence").mkdir()
    (folder / "speech" / "a.wav").write_bytes((DATA / "speech_allison_3s.wav").read_bytes())
    (folder / "silence" / "b.wav").write_bytes((DATA / "music_cold_day_3s.wav").read_bytes())
    (folder / "notes.txt").write_text("recorded at home\n")
    assert {sf.info(str(p)).samplerate for p in folder.rglob("*.wav")} == {8000}
    run = tmp_path / "run"
    rc = main(["pretrain", "--config", str(CONFIGS / "tiny-1stage.json"), "--data", str(folder),
               "--out", str(run), "--train.seq_len", "128", "--train.batch_size", "1",
               "--train.max_steps", "1", "--train.eval_windows", "2"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "audio at 8000 Hz (the files' own rate)" in err
    assert "included audio files by folder: silence/ 1, speech/ 1" in err
    assert "skipped 1 file(s) that are neither sequence nor audio: notes.txt" in err
    assert "held out the last 5% of each of the 2 files" in err
    ((_, ckpt),) = RunDir(run).checkpoints()
    meta = read_metadata(ckpt)
    assert meta.sample_rate == 8000 and meta.corpus["total_bytes"] == 2 * (24_000 - 1200)
    saved = read_config(run)
    assert saved.data.sample_rate is None  # the default, resolved from the files at each start


def test_split_seed_fixes_the_held_out_files_while_the_training_seed_changes() -> None:
    """Three files, one held out by the seed: ``data.split_seed`` keeps seed 0's choice for any
    training seed (a comparison's seeds vary initialisation and data order, not the split)."""
    names = ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa", "vcholerae_O395_20kb.fa")
    files = [str(DATA / f) for f in names]

    def held(seed: int, split_seed: int | None) -> list[str]:
        got = open_training_data(_cfg(files, **{"data.eval_fraction": 0.4, "train.seed": seed,
                                                "data.split_seed": split_seed}))
        return sorted({Path(u.source).name for u in got.eval_corpus.units})

    by_seed = {seed: held(seed, None) for seed in range(6)}
    moved = next(s for s in range(1, 6) if by_seed[s] != by_seed[0])  # some seed holds out another file
    assert held(moved, 0) == by_seed[0]
    assert held(0, moved) == by_seed[moved]
