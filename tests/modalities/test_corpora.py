"""Named corpora and path corpora: presence, splits, caching, the embedded sample, bad specs."""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from modalities import dna
from modalities.corpora import CORPORA, corpus_files, default_data_dir, list_corpora, open_corpus
from modalities.errors import CorpusError, FastaFormatError, MissingInputError
from modalities.splits import Unit, describe_held_out, split_units
from tests.paths import DATA, ROOT

FASTAS = [DATA / "ecoli_MG1655_20kb.fa", DATA / "saureus_N315_20kb.fa", DATA / "vcholerae_O395_20kb.fa"]
SAMPLE = ROOT / "modalities" / "data" / "dna-sample.fasta.gz"
BACTERIA_PRESENT = bool(corpus_files(CORPORA["dna-bacteria"], default_data_dir()))


pytestmark = pytest.mark.usefixtures("cache_dir")


def test_registry_and_presence(tmp_path: Path) -> None:
    rows = {r.name: r for r in list_corpora(tmp_path)}
    assert set(rows) == {"dna-sample", "dna-bacteria", "dna-bacteria-genus", "dna-annotated", "audio-speech",
                         "audio-music"}
    assert rows["dna-sample"].present and rows["dna-sample"].files == 1
    assert rows["dna-sample"].bytes == SAMPLE.stat().st_size < 1_000_000
    for name in ("dna-bacteria", "dna-bacteria-genus", "dna-annotated", "audio-speech", "audio-music"):
        assert not rows[name].present and rows[name].files == 0
        with pytest.raises(CorpusError) as info:
            open_corpus(name, data_dir=tmp_path)
        assert name in str(info.value) and "hnet-bio data fetch" in str(info.value)
        assert str(tmp_path) in str(info.value)
    assert {r.modality for r in rows.values()} == {"dna", "audio"}


def test_embedded_sample_matches_its_source_record() -> None:
    source = json.loads((SAMPLE.parent / "SOURCE.json").read_text())
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() == source["file_sha256"]
    (rec,) = dna.read_fasta(SAMPLE)
    assert len(rec.seq) == source["length_bp"] == 1_652_982 and "G27" in rec.description
    train, ev, whole = (open_corpus("dna-sample", s) for s in ("train", "eval", "all"))
    assert whole.total_bytes == len(rec.seq) and ev.total_bytes == round(0.05 * len(rec.seq))
    assert bytes(ev.read(0, 0, ev.lengths[0])) == rec.seq[-ev.lengths[0]:]  # held-out tail, contiguous
    assert bytes(train.read(0, 1000, 1100)) == rec.seq[1000:1100]
    meta = train.describe()
    json.dumps(meta)
    assert meta["source"]["origin"]["debian_package"] == "ragout-examples"
    assert meta["total_bytes"] == train.total_bytes
    assert (meta["spec"], meta["split"]) == ("dna-sample", "train")
    assert train.modality == "dna" and train.sample_rate is None and len(train.names) == 1


def test_cache_is_reused_and_invalidated(tmp_path: Path) -> None:
    path = dna.write_fasta([("r", b"ACGT" * 100)], tmp_path / "r.fa")
    first = open_corpus(path, "all")
    bin_path = Path(first.units[0].bin_path)
    stamp = bin_path.stat().st_mtime_ns
    assert open_corpus(str(path), "all").units[0].bin_path == str(bin_path)
    assert bin_path.stat().st_mtime_ns == stamp
    dna.write_fasta([("r", b"GGCC" * 50)], path)
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    changed = open_corpus(path, "all")
    assert changed.lengths == [200] and bytes(changed.read(0, 0, 4)) == b"GGCC"
    soft = dna.write_fasta([("s", b"ACgtNN")], tmp_path / "s.fa")
    assert bytes(open_corpus(soft, "all").read(0)) == b"ACGTNN"
    assert bytes(open_corpus(soft, "all", soft_mask=True).read(0)) == b"ACgtNN"


def test_path_specs_and_splits_by_file(tmp_path: Path) -> None:
    whole = open_corpus(",".join(map(str, FASTAS)), "all")
    assert whole.names == ["ecoli_MG1655", "saureus_N315", "vcholerae_O395"] and whole.lengths == [20_000] * 3
    train, ev = open_corpus(FASTAS, "train"), open_corpus(FASTAS, "eval")
    # 3 files x 5% is less than one file: every genome gives its last 5% (1,000 bp), no byte shared
    assert ev.names == whole.names and ev.lengths == [1000] * 3 and train.lengths == [19_000] * 3
    for i in range(3):
        assert np.array_equal(np.concatenate([train.read(i), ev.read(i)]), whole.read(i))
    many = open_corpus(FASTAS, "eval", eval_fraction=0.34)  # 0.34 x 3 >= 1: one whole file
    assert len(many.units) == 1 and many.lengths == [20_000]
    assert open_corpus(FASTAS, "eval", seed=0, eval_fraction=0.34).names == many.names  # deterministic
    (tmp_path / "d").mkdir()
    for f in FASTAS:
        (tmp_path / "d" / f.name).write_bytes(f.read_bytes())
    assert open_corpus(tmp_path / "d", "all").names == whole.names
    gbk = open_corpus([DATA / "leptospira_excerpt.gbk"], "eval")  # one file, two records: their tails
    assert gbk.lengths == [round(0.05 * 4205), round(0.05 * 2498)]
    assert "last 5% of each of the 2 records" in gbk.source["held_out"]
    wavs = [DATA / "speech_allison_3s.wav", DATA / "music_cold_day_3s.wav"]
    speech = open_corpus(wavs, "all", sample_rate=8000)
    assert speech.modality == "audio" and speech.sample_rate == 8000 and speech.lengths == [24_000, 24_000]
    assert open_corpus([DATA / "speech_allison_3s.wav"], "all").lengths == [24_000]  # its own 8 kHz
    assert open_corpus([DATA / "speech_allison_3s.wav"], "all", sample_rate=16000).lengths == [48_000]


def test_split_by_group_holds_out_one_file_per_group() -> None:
    units = [Unit(f"{g}{i}", f"/{g}/{i}.fa", "b", 0, 10, g) for g, n in (("a", 3), ("b", 2), ("c", 1))
             for i in range(n)]
    for seed in range(5):
        ev = split_units(units, "eval", seed=seed, by_group=True)
        train = split_units(units, "train", seed=seed, by_group=True)
        assert sorted(u.group for u in ev) == ["a", "b"]
        assert {u.name for u in ev}.isdisjoint(u.name for u in train) and len(ev) + len(train) == 6
    with pytest.raises(ValueError):
        split_units(units, "test")


def test_split_holding_out_a_group_nests_inside_the_by_group_split() -> None:
    units = [Unit(f"{g}{i}", f"/{g}/{i}.fa", "b", 0, 10 + i, g) for g, n in (("a", 3), ("b", 2), ("v", 4))
             for i in range(n)]
    for seed in range(5):
        ev = split_units(units, "eval", seed=seed, by_group=True, held_group="v")
        train = split_units(units, "train", seed=seed, by_group=True, held_group="v")
        strains = split_units(units, "eval", seed=seed, by_group=True)  # one file per group
        assert sorted(u.name for u in ev) == ["v0", "v1", "v2", "v3"]  # the whole group, every file
        assert {u.group for u in train} == {"a", "b"}
        # train leaves out the by-group held-out files too: a model trained on it has seen neither set
        assert {u.source for u in train}.isdisjoint(u.source for u in strains)
        assert len(train) == 9 - 4 - 2
    line = describe_held_out(units, 0.05, seed=0, by_group=True, held_group="v")
    assert line.startswith("held out the whole group v: 4 files (46 of 100 bytes, 46.0%)"), line
    with pytest.raises(ValueError, match="'w' is not among the groups"):
        split_units(units, "eval", by_group=True, held_group="w")


def test_bad_specs(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="unknown corpus name"):
        open_corpus("dna-bacterias")
    with pytest.raises(MissingInputError, match=r"nope\.fa"):
        open_corpus([tmp_path / "nope.fa"])
    with pytest.raises(CorpusError, match="cannot mix audio and sequence"):
        open_corpus([FASTAS[0], DATA / "speech_allison_3s.wav"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no sequence or audio files"):
        open_corpus(tmp_path / "empty")
    bad = tmp_path / "bad.fa"
    bad.write_text(">x\nACGT\n>x\nACGT\n")
    with pytest.raises(FastaFormatError, match=r"bad\.fa.*duplicate"):
        open_corpus([bad])


@pytest.mark.skipif(not BACTERIA_PRESENT, reason="full corpus not fetched; run scripts/fetch_data.sh")
def test_dna_bacteria_holds_out_one_strain_per_species() -> None:
    train, ev = open_corpus("dna-bacteria", "train"), open_corpus("dna-bacteria", "eval")
    assert ev.spec == "dna-bacteria" and ev.describe()["source"]["package"] == "ragout-examples"
    species = defaultdict(set)
    for u in ev.units:
        species[Path(u.source).parent.parent.name].add(Path(u.source).name)
    assert sorted(species) == ["E.Coli", "H.Pylori", "S.Aureus", "V.Cholerae"]
    assert all(len(strains) == 1 for strains in species.values())
    assert {u.source for u in train.units}.isdisjoint(u.source for u in ev.units)
    assert len({u.source for u in train.units}) == 12 and train.total_bytes + ev.total_bytes > 45_000_000
    assert np.all(np.isin(ev.read(0, 0, 10_000), np.frombuffer(b"ACGTNRYKMSWBDHV", np.uint8)))


@pytest.mark.skipif(not BACTERIA_PRESENT, reason="full corpus not fetched; run scripts/fetch_data.sh")
def test_dna_bacteria_genus_holds_out_vibrio_and_trains_on_neither_held_out_set() -> None:
    strain_train, strain_eval = open_corpus("dna-bacteria", "train"), open_corpus("dna-bacteria", "eval")
    train, ev = open_corpus("dna-bacteria-genus", "train"), open_corpus("dna-bacteria-genus", "eval")
    assert {Path(u.source).parent.parent.name for u in ev.units} == {"V.Cholerae"}
    assert len({u.source for u in ev.units}) == 4  # every Vibrio genome
    vibrio = {u.source for u in ev.units}
    assert {u.source for u in train.units} == {u.source for u in strain_train.units} - vibrio
    assert {u.source for u in train.units}.isdisjoint(u.source for u in strain_eval.units)
    assert train.total_bytes == 22_665_304 and "held out the whole group V.Cholerae" in ev.source["held_out"]


def test_few_records_give_their_tails_not_one_whole_record() -> None:
    """A chromosome + two plasmids (the Klebsiella case): each record gives its last 5%, and the
    description says so; with enough records whole ones are held out as before."""
    units = [Unit("chrom", "/k.fa", "b", 0, 5_000_000), Unit("p1", "/k.fa", "b", 5_000_000, 3_300),
             Unit("p2", "/k.fa", "b", 5_003_300, 100_000)]
    ev = split_units(units, "eval", tail_when_few=True)
    train = split_units(units, "train", tail_when_few=True)
    assert [u.length for u in ev] == [250_000, 165, 5_000]
    for t, e, u in zip(train, ev, units):  # contiguous: train is the head, eval the tail, nothing lost
        assert t.offset == u.offset and e.offset == t.offset + t.length and t.length + e.length == u.length
    from modalities.splits import describe_held_out

    text = describe_held_out(units, 0.05, tail_when_few=True)
    assert "last 5% of each of the 3 records" in text and "255,165 of 5,103,300 bytes" in text
    many = [Unit(f"r{i}", "/m.fa", "b", 100 * i, 100) for i in range(40)]
    assert len(split_units(many, "eval", tail_when_few=True)) == 2  # 40 x 5% = 2 whole records
    assert "whole records" in describe_held_out(many, 0.05, tail_when_few=True)


def test_tail_lengthened_to_one_window_only_when_it_fits() -> None:
    one = [Unit("g", "/g.fa", "b", 0, 3_000)]  # 5% = 150 bytes < one 1,025-byte window
    ev = split_units(one, "eval", tail_when_few=True, min_eval_bytes=1025)
    assert [u.length for u in ev] == [1025]
    assert split_units(one, "train", min_eval_bytes=1025)[0].length == 1975
    small = [Unit("g", "/g.fa", "b", 0, 2_000)]  # lengthening would leave less than a window to train
    assert split_units(small, "eval", tail_when_few=True, min_eval_bytes=1025)[0].length == 100
    header_only = [Unit("e", "/e.fa", "b", 0, 0)]
    assert split_units(header_only, "eval") == [] and split_units(header_only, "train") == []


def test_audio_rate_defaults_to_the_files_own_when_they_agree(tmp_path: Path) -> None:
    import soundfile as sf

    speech = DATA / "speech_allison_3s.wav"
    wave, _ = sf.read(speech, dtype="float32")
    up = tmp_path / "speech16k.wav"
    sf.write(up, np.repeat(wave, 2), 16000, subtype="PCM_16")
    same = open_corpus([speech, DATA / "music_cold_day_3s.wav"], "all")
    assert same.sample_rate == 8000 and same.source["native_rates"] == [8000]
    mixed = open_corpus([speech, up], "all")  # they disagree: the documented default, 16 kHz
    assert mixed.sample_rate == 16000 and mixed.source["native_rates"] == [8000, 16000]
    assert open_corpus([speech, up], "all", sample_rate=8000).lengths == [24_000, 24_000]
    from hnet_bio.errors import ConfigError

    for bad in (0, -8000):
        with pytest.raises(ConfigError, match="positive integer"):
            open_corpus([speech], "all", sample_rate=bad)


def test_compressed_and_misnamed_files(tmp_path: Path) -> None:
    """xz and bzip2 (by content, whatever the name), directories of them, and a GenBank named .seq."""
    import bz2
    import lzma

    src = FASTAS[0].read_bytes()
    d = tmp_path / "genomes"
    d.mkdir()
    (d / "a.fna.xz").write_bytes(lzma.compress(src))
    (d / "b.fasta.bz2").write_bytes(bz2.compress(FASTAS[1].read_bytes()))
    whole = open_corpus(d, "all")
    assert whole.names == ["ecoli_MG1655", "saureus_N315"] and whole.lengths == [20_000, 20_000]
    assert bytes(whole.read(0)) == dna.read_fasta(FASTAS[0])[0].seq
    seq = tmp_path / "lepto.seq"  # EMBOSS/NCBI name GenBank files .seq
    seq.write_bytes((DATA / "leptospira_excerpt.gbk").read_bytes())
    assert [len(r.seq) for r in dna.read_fasta(seq)] == [4205, 2498]
    assert dna.read_fasta(seq) == dna.read_fasta(DATA / "leptospira_excerpt.gbk")
