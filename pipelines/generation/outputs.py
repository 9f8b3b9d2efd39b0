"""Where generated samples go: FASTA (a file, or stdout) for DNA models, WAV for audio models.

Every file is written atomically after sampling finishes; a failure part way through a set of
WAV files removes the ones already written, so an error never leaves a partial set of outputs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hnet_bio.generation import SamplingConfig
from modalities.audio import write_wav
from modalities.dna import fasta_lines, write_fasta


def is_fasta_name(path: Path) -> bool:
    """``.fa``, ``.fasta`` or ``.fna``, optionally followed by ``.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in (".fa", ".fasta", ".fna")


def describe_sampling(prompt: bytes, sampling: SamplingConfig) -> str:
    """The FASTA header's description: prompt length and the sampling settings that were used."""
    parts = [f"prompt_bytes={len(prompt)}", f"temperature={sampling.temperature}"]
    if sampling.greedy:
        parts.append("greedy")
    if sampling.top_k:
        parts.append(f"top_k={sampling.top_k}")
    if sampling.top_p < 1:
        parts.append(f"top_p={sampling.top_p}")
    if sampling.seed is not None:
        parts.append(f"seed={sampling.seed}")
    return " ".join(parts)


def write_samples(
    modality: str, samples: list[bytes], out: str | os.PathLike[str] | None, sample_rate: int, desc: str
) -> list[Path]:
    """Write the samples; returns the files (none when FASTA went to stdout).

    Audio: ``out`` itself for one sample, ``OUT-1.wav``, ``OUT-2.wav``, ... for several. DNA: one
    FASTA with records ``sample1 DESC``, ``sample2 DESC``, ...
    """
    if modality == "audio":
        assert out is not None
        base = Path(out)
        paths = [base] if len(samples) == 1 else [base.with_name(f"{base.stem}-{i + 1}.wav")
                                                  for i in range(len(samples))]
        written: list[Path] = []
        try:
            for path, data in zip(paths, samples):
                write_wav(path, data, sample_rate)
                written.append(path)
        except BaseException:  # a full disk at sample 3: no partial set of outputs either
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return paths
    records = [(f"sample{i + 1} {desc}", s) for i, s in enumerate(samples)]
    if out is None:
        for line in fasta_lines(records):
            sys.stdout.write(line.decode("ascii", "replace"))
        return []
    return [write_fasta(records, out)]
