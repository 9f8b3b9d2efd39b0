"""metadata.json as `CheckpointMetadata`: validated once on read (one-line errors naming the file
and the key), written back with every unknown key unchanged and in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hnet_bio import CheckpointError, HNetConfig, build_model
from hnet_bio.checkpoint import read_metadata, save_pretrained
from hnet_bio.metadata import CheckpointMetadata
from tests.paths import CONFIGS


def write_metadata(directory: Path, data: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metadata.json").write_text(json.dumps(data))
    return directory


@pytest.mark.parametrize(("data", "key", "problem"), [
    ({"modality": "audio", "sample_rate": "8000"}, "sample_rate", "sample_rate must be int, found '8000'"),
    ({"seq_len": -1}, "seq_len", "seq_len must be positive, found -1"),
    ({"seq_len": 0}, "seq_len", "seq_len must be positive, found 0"),
    ({"step": True}, "step", "step must be int, found True"),  # a bool is not a count
    ({"train_bytes": 1.5}, "train_bytes", "train_bytes must be int, found 1.5"),
    ({"eval_bpb": "1.9"}, "eval_bpb", "eval_bpb must be float or int, found '1.9'"),
    ({"corpus": ["dna-sample"]}, "corpus", "corpus must be dict, found ['dna-sample']"),
    ({"modality": "video"}, "modality", "modality 'video' is not supported (expected dna or audio)"),
])
def test_a_wrong_value_is_one_line_naming_file_and_key(
    tmp_path: Path, data: dict[str, Any], key: str, problem: str
) -> None:
    ckpt = write_metadata(tmp_path / "ckpt", data)
    with pytest.raises(CheckpointError) as info:
        read_metadata(ckpt)
    message = str(info.value)
    assert message == f"{ckpt / 'metadata.json'}: {problem}"
    assert key in message and "\n" not in message


@pytest.mark.parametrize(("data", "problem"), [
    ([{"modality": "dna"}], "expected a JSON object, found list"),
    ("dna", "expected a JSON object, found str"),
    (None, "expected a JSON object, found NoneType"),
])
def test_a_file_that_is_not_an_object_is_refused(tmp_path: Path, data: Any, problem: str) -> None:
    ckpt = write_metadata(tmp_path / "ckpt", data)
    with pytest.raises(CheckpointError) as info:
        read_metadata(ckpt)
    assert str(info.value) == f"{ckpt / 'metadata.json'}: {problem}"


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('{"modality": "dna",')
    with pytest.raises(CheckpointError, match=r"metadata\.json: not valid JSON") as info:
        read_metadata(tmp_path)
    assert "\n" not in str(info.value)


def test_values_of_the_right_type_are_kept_as_read(tmp_path: Path) -> None:
    corpus = {"name": "speech", "files": 3, "split": "train"}
    ckpt = write_metadata(tmp_path / "ckpt", {
        "model_class": "HNetLM", "modality": "audio", "byte_convention": "mulaw-8bit", "corpus": corpus,
        "seq_len": 1024, "trained_by": "hnet-bio 0.1.0", "sample_rate": 8000, "train_bytes": 5,
        "step": 7, "eval_bpb": 2,
    })
    meta = read_metadata(ckpt)
    assert meta == CheckpointMetadata(
        model_class="HNetLM", modality="audio", byte_convention="mulaw-8bit", corpus=corpus, seq_len=1024,
        trained_by="hnet-bio 0.1.0", sample_rate=8000, train_bytes=5, step=7, eval_bpb=2.0,
    )
    assert isinstance(meta.eval_bpb, float)  # an integral bits/byte written as 2 reads back as a float
    assert meta.extra == {}


@pytest.mark.parametrize(("data", "modality"), [
    ({"byte_convention": "mulaw-8bit"}, "audio"),  # mu-law bytes are audio
    ({"byte_convention": "MULAW-8BIT"}, "audio"),
    ({"byte_convention": "ascii-upper"}, "dna"),
    ({"byte_convention": "ascii-softmask"}, "dna"),
    ({}, "dna"),  # the oldest checkpoints said nothing: they are DNA models
    ({"modality": "", "byte_convention": "mulaw-8bit"}, "audio"),  # an empty modality is unset
    ({"modality": "Audio"}, "audio"),
    ({"modality": "dna", "byte_convention": "mulaw-8bit"}, "dna"),  # a recorded modality wins
])
def test_modality_is_inferred_from_the_byte_convention(data: dict[str, Any], modality: str) -> None:
    assert CheckpointMetadata.from_json(data).modality == modality


def test_a_directory_without_metadata_is_refused_not_read_as_dna(tmp_path: Path) -> None:
    """The defaults say DNA: an audio model whose metadata.json was lost would run on the wrong
    bytes without a word (issue 20), so a directory without one is one line naming the file."""
    with pytest.raises(CheckpointError) as info:
        read_metadata(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: missing metadata.json (the modality")
    meta = CheckpointMetadata()
    facts = (meta.modality, meta.soft_mask, meta.is_audio, meta.sample_rate_or(16000))
    assert facts == ("dna", False, False, 16000)


def test_derived_facts() -> None:
    assert CheckpointMetadata.from_json({"byte_convention": "ascii-softmask"}).soft_mask
    assert not CheckpointMetadata.from_json({"byte_convention": "ascii-upper"}).soft_mask
    audio = CheckpointMetadata.from_json({"byte_convention": "mulaw-8bit", "sample_rate": 8000})
    assert audio.is_audio and audio.sample_rate_or(16000) == 8000
    assert CheckpointMetadata.from_json({"modality": "audio"}).sample_rate_or(16000) == 16000


def test_to_json_omits_what_is_unset() -> None:
    assert CheckpointMetadata().to_json() == {"modality": "dna"}
    meta = CheckpointMetadata(modality="audio", sample_rate=8000, step=0, corpus={})
    assert meta.to_json() == {"modality": "audio", "sample_rate": 8000, "step": 0}  # 0 is set, {} is not
    assert "eval_bpb" not in CheckpointMetadata(eval_bpb=None).to_json()


def test_unknown_keys_survive_save_unchanged_and_in_order(tmp_path: Path) -> None:
    """A shipped model's card facts (and a later version's keys) pass through a re-save untouched."""
    card = {"trained_on": ["E. coli", "S. aureus"], "bits_per_byte": {"model": 1.91, "zstd": 2.2}}
    written = {
        "zeta": 1, "model_class": "HNetLM", "card": card, "modality": "dna", "alpha": None,
        "byte_convention": "ascii-upper", "seq_len": 512, "middle": "kept",
    }
    src = write_metadata(tmp_path / "src", written)
    meta = read_metadata(src)
    assert meta.extra == {"zeta": 1, "card": card, "alpha": None, "middle": "kept"}
    assert list(meta.extra) == ["zeta", "card", "alpha", "middle"]

    torch.manual_seed(0)
    model = build_model(HNetConfig.from_json(CONFIGS / "tiny-1stage.json"))
    save_pretrained(model, tmp_path / "dst", meta)
    text = (tmp_path / "dst" / "metadata.json").read_text()
    out = json.loads(text)
    # known keys first, in the order pretraining writes them; then every unknown key as it was read
    assert list(out) == ["model_class", "modality", "byte_convention", "seq_len", "zeta", "card", "alpha",
                         "middle"]
    assert out == written
    assert read_metadata(tmp_path / "dst") == meta


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
KNOWN = set(CheckpointMetadata().to_json()) | {f for f in CheckpointMetadata.__dataclass_fields__}


@settings(max_examples=60, deadline=None)
@given(extra=st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in KNOWN), JSON_VALUES,
                             max_size=5),
       sample_rate=st.none() | st.integers(1, 96000), step=st.none() | st.integers(0, 10**9))
def test_from_json_inverts_to_json(extra: dict[str, Any], sample_rate: int | None, step: int | None) -> None:
    meta = CheckpointMetadata(modality="audio", sample_rate=sample_rate, step=step, extra=extra)
    data = json.loads(json.dumps(meta.to_json()))  # through JSON text, as on disk
    again = CheckpointMetadata.from_json(data)
    assert again == meta
    assert list(again.to_json()) == list(meta.to_json())
