"""Audio as bytes: any soundfile-readable file -> mono -> resampled -> 8-bit mu-law bytes 0..255.

All 256 byte values are audio (no BOS/EOS), and decoding gives a playable waveform, so a model's
bytes can be listened to. Byte ``i`` covers time ``[i / sr, (i + 1) / sr)`` seconds.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from hnet_bio.atomic import atomic_write
from modalities.errors import AudioFormatError, MissingInputError

MU = 255
DEFAULT_SAMPLE_RATE = 16000
MIN_NATIVE_RATE, MAX_NATIVE_RATE = 1000, 1_000_000  # what a recording's header may say, in Hz
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au"}

__all__ = [
    "AUDIO_SUFFIXES", "DEFAULT_SAMPLE_RATE", "MU", "byte_to_seconds", "encode_file",
    "load_audio", "mu_law_decode", "mu_law_encode", "native_rates", "seconds_to_byte", "write_wav",
]


def load_audio(
    path: str | os.PathLike[str], sample_rate: int | None = DEFAULT_SAMPLE_RATE
) -> tuple[np.ndarray, int]:
    """(float32 mono waveform in [-1, 1], rate): channels averaged, resampled unless ``sample_rate`` is None.

    Averaging channels (not taking the left one) keeps content panned to either side.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(p, "no such audio file")
    if p.stat().st_size == 0:
        raise AudioFormatError(p, "empty file (0 bytes); expected WAV/FLAC/OGG audio")
    try:
        data, native = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFormatError(p, f"unreadable audio ({exc})") from None
    if data.shape[0] == 0:
        raise AudioFormatError(p, "audio file contains no samples")
    bad = int(np.count_nonzero(~np.isfinite(data)))
    if bad:  # a float file can hold NaN/inf, which mu-law would silently turn into full-scale codes
        raise AudioFormatError(p, f"{bad} sample(s) are NaN or infinite (a corrupt floating-point file?)")
    rate = int(native)
    if not MIN_NATIVE_RATE <= rate <= MAX_NATIVE_RATE:  # a damaged header: resampling "1 Hz" to 16 kHz
        raise AudioFormatError(p, f"its header says {rate:,} samples per second, which is not audio "
                                  f"(expected {MIN_NATIVE_RATE:,} to {MAX_NATIVE_RATE:,})")
    wave = data.mean(axis=1, dtype=np.float32)  # (T,)
    if sample_rate is not None and sample_rate != rate:
        _check_resampling(p, rate, int(sample_rate))
        import torchaudio.functional as AF  # why: ~50 ms to import; only resampling needs it

        wave = AF.resample(torch.from_numpy(wave), rate, int(sample_rate)).numpy()
        rate = int(sample_rate)
    return np.clip(wave, -1.0, 1.0).astype(np.float32, copy=False), rate


def _check_resampling(path: Path, rate: int, target: int) -> None:
    """Refuse rates whose resampling filter would not fit in memory. The sinc filter between two
    rates has (target/g) rows of about (rate/g) taps, g their greatest common divisor: 44.1 to
    16 kHz needs 0.3 MB, but a damaged header's 999,999 Hz to 8 kHz would need 32 GB."""
    g = math.gcd(rate, target)
    a, b = rate // g, target // g
    need = 4 * b * (a + 2 * math.ceil(6 * a / (0.99 * min(a, b))))  # float32 (b, 1, a + 2*width)
    if need > 2**30:
        raise AudioFormatError(path, f"cannot resample {rate:,} Hz to {target:,} Hz: the rates share no "
                                     f"useful factor, and the filter would need {need / 1e9:,.1f} GB; "
                                     "convert the file to a usual rate (e.g. 44,100 or 48,000 Hz) first")


def native_rates(paths: list[Path]) -> list[int]:
    """Each file's own sample rate, read from its header (no decoding): to pick a corpus's rate."""
    rates = []
    for p in paths:
        if p.stat().st_size == 0:
            raise AudioFormatError(p, "empty file (0 bytes); expected WAV/FLAC/OGG audio")
        try:
            rates.append(int(sf.info(str(p)).samplerate))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise AudioFormatError(p, f"unreadable audio ({exc})") from None
    return rates


def mu_law_encode(wave: np.ndarray) -> np.ndarray:
    """float waveform (clamped to [-1, 1]) -> uint8 mu-law codes, mu = 255 (torchaudio's formula)."""
    import torchaudio.functional as AF  # why: as in load_audio

    x = torch.from_numpy(np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0))
    return AF.mu_law_encoding(x, MU + 1).to(torch.uint8).numpy()


def mu_law_decode(codes: np.ndarray | bytes) -> np.ndarray:
    """uint8 mu-law codes -> float32 waveform in [-1, 1]."""
    import torchaudio.functional as AF  # why: as in load_audio

    arr = np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, (bytes, bytearray)) else np.asarray(codes)
    if arr.dtype != np.uint8:
        raise TypeError(f"mu_law_decode expects uint8 codes, got {arr.dtype}")
    return AF.mu_law_decoding(torch.from_numpy(arr.astype(np.int64)), MU + 1).to(torch.float32).numpy()



def encode_file(path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """An audio file as model bytes: uint8 mu-law at ``sample_rate`` bytes per second."""
    wave, _ = load_audio(path, sample_rate)
    return mu_law_encode(wave)


def write_wav(path: str | os.PathLike[str], bytes_or_wave: np.ndarray | bytes, sample_rate: int) -> Path:
    """Write 16-bit PCM WAV atomically; uint8/bytes input is mu-law decoded first, floats are clamped."""
    data = bytes_or_wave
    if isinstance(data, (bytes, bytearray)) or np.asarray(data).dtype == np.uint8:
        wave = mu_law_decode(data)
    else:
        wave = np.clip(np.asarray(data, dtype=np.float32), -1.0, 1.0)
    target = Path(path)
    with atomic_write(target) as fh:
        sf.write(fh, wave, int(sample_rate), format="WAV", subtype="PCM_16")
    return target


def byte_to_seconds(index: int | np.ndarray, sample_rate: int) -> float | np.ndarray:
    """Start time in seconds of byte ``index`` (one byte per sample)."""
    out = np.asarray(index, dtype=np.float64) / float(sample_rate)
    return float(out) if out.ndim == 0 else out


def seconds_to_byte(t: float | np.ndarray, sample_rate: int) -> int | np.ndarray:
    """Index of the byte whose interval contains time ``t`` (floor; exact inverse of byte_to_seconds)."""
    out = np.floor(np.asarray(t, dtype=np.float64) * sample_rate + 1e-9).astype(np.int64)
    return int(out) if out.ndim == 0 else out
