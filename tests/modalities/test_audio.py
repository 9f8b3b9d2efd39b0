"""Audio codec: mu-law against an independent float64 formula, round trips, resampling, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from modalities import audio
from modalities.errors import AudioFormatError, MissingInputError
from tests.paths import DATA

SPEECH = DATA / "speech_allison_3s.wav"
MUSIC = DATA / "music_cold_day_3s.wav"
MU = 255.0


def f64_compress(x: np.ndarray) -> np.ndarray:
    """The mu-law companding curve F(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu), in float64."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)


def f64_expand(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU


def f64_encode(x: np.ndarray) -> np.ndarray:
    return np.floor((f64_compress(x) + 1.0) / 2.0 * MU + 0.5).astype(np.int64)


def f64_decode(c: np.ndarray) -> np.ndarray:
    return f64_expand(np.asarray(c, dtype=np.float64) / MU * 2.0 - 1.0)


def test_encode_decode_match_float64_formula() -> None:
    x = np.linspace(-1.0, 1.0, 200_001, dtype=np.float32)
    codes = audio.mu_law_encode(x)
    assert codes.dtype == np.uint8 and codes.min() == 0 and codes.max() == 255
    ref = f64_encode(x)
    diff = np.abs(codes.astype(np.int64) - ref)
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 20  # float32 vs float64 only at exact rounding ties
    all_codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_allclose(audio.mu_law_decode(all_codes), f64_decode(all_codes), atol=2e-6)


def test_round_trip_error_is_exactly_the_quantisation_error() -> None:
    x = np.linspace(-1.0, 1.0, 400_001)
    back = audio.mu_law_decode(audio.mu_law_encode(x.astype(np.float32))).astype(np.float64)
    err_companded = np.abs(f64_compress(back) - f64_compress(x))
    assert err_companded.max() <= 1.0 / MU + 1e-5  # half a quantisation step (2/mu) in the companded domain
    assert err_companded.max() >= 0.99 / MU  # ... and the bound is attained, so the test could fail
    # in the waveform domain: every sample lies inside the bin of the code it was given
    codes = f64_encode(x)
    lo, hi = f64_expand((codes - 0.5) / MU * 2 - 1), f64_expand((codes + 0.5) / MU * 2 - 1)
    assert np.all(np.abs(back - x) <= np.maximum(back - lo, hi - back) + 1e-6)


def test_real_speech_file_round_trip_and_wav(tmp_path: Path) -> None:
    wave, rate = audio.load_audio(SPEECH, sample_rate=8000)
    raw, _ = sf.read(SPEECH, dtype="float32")
    assert rate == 8000 and wave.shape == (24000,) and np.array_equal(wave, raw)
    codes = audio.encode_file(SPEECH, sample_rate=8000)
    assert np.array_equal(codes, audio.mu_law_encode(raw)) and len(np.unique(codes)) > 100
    err = np.abs(f64_compress(audio.mu_law_decode(codes)) - f64_compress(raw))
    assert err.max() <= 1.0 / MU + 1e-5
    out = audio.write_wav(tmp_path / "back.wav", codes, 8000)
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (8000, 1, 24000, "PCM_16")
    assert np.array_equal(audio.encode_file(out, sample_rate=8000), codes)  # bytes -> WAV -> bytes: lossless
    assert os.listdir(tmp_path) == ["back.wav"]


def test_flac_ogg_stereo_mix_resample_clamp(tmp_path: Path) -> None:
    raw, _ = sf.read(MUSIC, dtype="float32")
    flac = tmp_path / "m.flac"
    sf.write(flac, raw, 8000, subtype="PCM_16")
    assert np.array_equal(audio.load_audio(flac, 8000)[0], raw)  # FLAC is lossless
    ogg = tmp_path / "m.ogg"
    sf.write(ogg, raw, 8000, format="OGG", subtype="VORBIS")
    w_ogg, _ = audio.load_audio(ogg, 8000)
    assert abs(len(w_ogg) - len(raw)) < 100
    t = np.arange(8000) / 8000
    sine = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = tmp_path / "st.wav"
    sf.write(stereo, np.stack([sine, -0.5 * sine], axis=1), 8000, subtype="FLOAT")
    mono, _ = audio.load_audio(stereo, 8000)
    np.testing.assert_allclose(mono, 0.25 * sine, atol=1e-6)  # channels averaged
    up, rate = audio.load_audio(stereo, 16000)
    assert rate == 16000 and len(up) == 16000
    spectrum = np.abs(np.fft.rfft(up))
    assert np.argmax(spectrum) == 440  # 1 s at 16 kHz: bin k is k Hz
    loud = tmp_path / "loud.wav"
    sf.write(loud, np.array([1.5, -2.0, 0.25], dtype=np.float32), 8000, subtype="FLOAT")
    np.testing.assert_array_equal(audio.load_audio(loud, 8000)[0], [1.0, -1.0, 0.25])


def test_time_byte_mapping() -> None:
    assert audio.byte_to_seconds(8000, 8000) == 1.0
    assert audio.seconds_to_byte(1.0, 8000) == 8000
    assert audio.seconds_to_byte(0.999999, 8000) == 7999
    idx = np.arange(0, 100_000, 7)
    for rate in (8000, 16000, 22050):
        assert np.array_equal(audio.seconds_to_byte(audio.byte_to_seconds(idx, rate), rate), idx)


def _check(path: Path, needle: str, exc: type[Exception] = AudioFormatError) -> None:
    with pytest.raises(exc) as info:
        audio.load_audio(path, 8000)
    assert str(path) in str(info.value) and needle in str(info.value), str(info.value)


def test_bad_audio_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    _check(empty, "empty file")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all\n" * 10)
    _check(junk, "unreadable audio")
    silent = tmp_path / "noframes.wav"
    sf.write(silent, np.zeros(0, dtype=np.float32), 8000)
    _check(silent, "no samples")
    _check(tmp_path / "missing.flac", "no such audio file", MissingInputError)
    truncated = tmp_path / "cut.flac"
    sf.write(truncated, sf.read(SPEECH)[0], 8000)
    truncated.write_bytes(truncated.read_bytes()[:40])
    with pytest.raises(AudioFormatError, match=r"cut\.flac"):
        audio.encode_file(truncated, 8000)
