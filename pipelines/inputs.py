"""What the analysis jobs read: named byte sequences with their place in the user's files.

``--fasta FILE`` (every record), ``--fasta FILE --region R ...`` or ``--fasta FILE --bed FILE``
(regions, genome coordinates kept), or ``--audio FILES``. Each becomes an `Item` that knows how to
map a position of its bytes back to the file's coordinates:

- DNA, forward strand: byte i is base ``start0 + i`` of record ``chrom``.
- DNA, reverse strand (``chr:a-b:-`` or BED strand ``-``): the bytes are the reverse complement,
  so byte i is forward base ``end0 - 1 - i``; an interval ``[a, b)`` of bytes is the forward
  interval ``[end0 - b, end0 - a)``. Everything we write (BED, bedGraph, statistics) is in forward
  coordinates with the strand in the strand column.
- audio: byte i is sample i at the checkpoint's rate, i.e. ``i / sample_rate`` seconds.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.lm import HNetLM, IsotropicLM
from hnet_bio.metadata import CheckpointMetadata
from modalities.audio import DEFAULT_SAMPLE_RATE, encode_file
from modalities.dna import read_fasta, read_sequence
from modalities.regions import Region, parse_region, read_bed
from pipelines.errors import UsageError
from pipelines.runs.resolve import resolve_checkpoint


@dataclass
class Item:
    """One sequence to analyse: its bytes and where they come from."""

    name: str  # record name, region label (BED name or chr:a-b[:-]) or audio file stem
    data: np.ndarray  # (L,) uint8 in the checkpoint's byte convention
    source: str  # the file it was read from
    chrom: str = ""  # DNA: record name
    start0: int = 0  # DNA: forward coordinate of the region's first base
    strand: str = "+"  # DNA: "+" or "-" (bytes are the reverse complement)
    sample_rate: int | None = None  # audio only

    @property
    def length(self) -> int:
        return int(self.data.size)

    @property
    def end0(self) -> int:
        return self.start0 + self.length

    def forward_interval(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Byte intervals [a, b) of this item as forward-strand genome intervals [start, end)."""
        if self.strand == "-":
            return self.end0 - b, self.end0 - a
        return self.start0 + a, self.start0 + b

    def forward_position(self, i: np.ndarray) -> np.ndarray:
        """Byte index -> forward genome coordinate (0-based)."""
        return self.end0 - 1 - i if self.strand == "-" else self.start0 + i


def dna_items(
    fasta: str | os.PathLike[str],
    regions: Sequence[str] = (),
    bed: str | os.PathLike[str] | None = None,
    soft_mask: bool = False,
) -> list[Item]:
    """Every record of ``fasta``, or the given regions of it (``chr:a-b[:-]`` strings or a BED file)."""
    if regions and bed is not None:
        raise UsageError("give regions either with --region or with --bed, not both")
    wanted: list[Region] = [parse_region(r) for r in regions]
    if bed is not None:
        wanted = read_bed(bed)
    if not wanted:
        return [Item(r.name, np.frombuffer(r.seq, dtype=np.uint8), str(fasta), r.name)
                for r in read_fasta(fasta, soft_mask=soft_mask) if r.seq]
    items = []
    for reg in wanted:
        seq = read_sequence(fasta, reg, soft_mask=soft_mask)
        if not seq:
            raise UsageError(f"region {reg} is empty")
        label = reg.name or str(reg)
        items.append(Item(label, np.frombuffer(seq, dtype=np.uint8), str(fasta), reg.chrom, reg.start0,
                          reg.strand))
    return items


def audio_items(files: Sequence[str | os.PathLike[str]], sample_rate: int) -> list[Item]:
    """Each audio file as mu-law bytes at ``sample_rate``, named by its file stem."""
    return [Item(Path(f).stem, encode_file(f, sample_rate), str(f), sample_rate=sample_rate) for f in files]


def sample_rate_of(meta: CheckpointMetadata) -> int:
    """The rate an audio checkpoint's bytes are sampled at: the recorded one, else the default
    (`modalities.audio.DEFAULT_SAMPLE_RATE`; checkpoints from before the rate was recorded)."""
    return meta.sample_rate_or(DEFAULT_SAMPLE_RATE)


def load_model_for(
    checkpoint: str | os.PathLike[str], wanted: str
) -> tuple[HNetLM | IsotropicLM, CheckpointMetadata]:
    """The model and metadata of the checkpoint the user named (`pipelines.runs.resolve`: a
    checkpoint or run directory, RUN@last|@STEP, a shipped name), refusing the other modality."""
    model, meta = load_pretrained(resolve_checkpoint(checkpoint).path)
    assert isinstance(model, (HNetLM, IsotropicLM))
    if meta.modality != wanted:
        given = "--audio files" if wanted == "audio" else "DNA (--fasta)"
        article = "an" if meta.is_audio else "a"
        raise UsageError(f"{checkpoint}: {article} {meta.modality} checkpoint cannot read {given}; "
                         f"give {'--audio FILES' if meta.is_audio else '--fasta FILE'} instead")
    return model, meta


@dataclass(frozen=True)
class InputSpec:
    """What an analysis job reads: --fasta FILE (every record, or the --region/--bed ones) or
    --audio FILES; `read_items` checks that exactly one is given."""

    fasta: str | None = None
    regions: Sequence[str] = ()
    bed: str | None = None
    audio: Sequence[str] = ()

    @property
    def modality(self) -> str:
        return "audio" if self.audio else "dna"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> InputSpec:
        """From the jobs' --fasta, --region, --bed and --audio."""
        return cls(args.fasta, args.region, args.bed, args.audio or ())


def read_items(meta: CheckpointMetadata, spec: InputSpec) -> list[Item]:
    """The job's input as Items, in the checkpoint's byte convention (soft-masking, sample rate)."""
    fasta, regions, bed, audio = spec.fasta, spec.regions, spec.bed, spec.audio
    if (fasta is None) == (not audio):
        raise UsageError("give exactly one of --fasta FILE or --audio FILES")
    if audio:
        if regions or bed is not None:
            raise UsageError("--region/--bed select DNA regions; they do not apply to --audio")
        return audio_items(audio, sample_rate_of(meta))
    assert fasta is not None
    return dna_items(fasta, regions, bed, soft_mask=meta.soft_mask)


def check_outputs(paths: Sequence[str | os.PathLike[str] | None], overwrite: bool) -> None:
    """Refuse (before any work) to replace existing outputs unless --overwrite; refuse duplicates."""
    given = [Path(p) for p in paths if p is not None]
    if len({p.resolve() for p in given}) != len(given):
        raise UsageError("two outputs name the same file")
    for p in given:
        if p.exists() and not overwrite:
            raise UsageError(f"{p}: exists; pass --overwrite to replace it")
        if not p.parent.is_dir():
            raise UsageError(f"{p}: directory {p.parent} does not exist")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """--threads, --overwrite and --quiet, the same in every analysis job (read with `apply_threads`,
    `check_outputs` and the job's log)."""
    p.add_argument("--threads", type=int, default=None, help="CPU threads")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")


def apply_threads(threads: int | None) -> None:
    """Set torch's CPU threads from --threads; None keeps torch's default."""
    if threads is None:
        return
    if threads < 1:
        raise UsageError("--threads must be >= 1")
    torch.set_num_threads(threads)
