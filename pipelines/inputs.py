"""What the analysis jobs read: named byte sequences with their place in the user's files.

``--fasta FILES`` (every record of every file), ``--fasta FILES --region R ...`` or ``--fasta FILES
--bed FILE`` (regions, genome coordinates kept; each region read from the first file holding its
record, which may be named by an alias such as a GenBank LOCUS name: `modalities.regions.resolve_record`),
or ``--audio FILES``. Each becomes an `Item` that knows how to
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
from modalities.dna import read_fasta, read_region
from modalities.regions import Region, UnknownRecordError, parse_region, read_bed
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
    fasta: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    regions: Sequence[str] = (),
    bed: str | os.PathLike[str] | None = None,
    soft_mask: bool = False,
) -> list[Item]:
    """Every record of the ``fasta`` file(s), or the given regions of them (``chr:a-b[:-]`` strings or
    a BED file); an Item's ``chrom`` is the record's name as its file spells it (an alias resolved)."""
    files = _paths(fasta)
    if regions and bed is not None:
        raise UsageError("give regions either with --region or with --bed, not both")
    wanted: list[Region] = [parse_region(r) for r in regions]
    if bed is not None:
        wanted = read_bed(bed)
    if not wanted:
        items: list[Item] = []
        where: dict[str, str] = {}
        for f in files:
            for r in read_fasta(f, soft_mask=soft_mask):
                if r.name in where:
                    raise UsageError(f"record {r.name!r} is in both {where[r.name]} and {f}; "
                                     "give one of them, or regions")
                where[r.name] = str(f)
                if r.seq:
                    items.append(Item(r.name, np.frombuffer(r.seq, dtype=np.uint8), str(f), r.name))
        return items
    items = []
    for reg in wanted:
        found, seq, f = read_dna_region(files, reg, soft_mask)
        if not seq:
            raise UsageError(f"region {reg} is empty")
        label = reg.name or str(found)
        data = np.frombuffer(seq, dtype=np.uint8)
        items.append(Item(label, data, f, found.chrom, found.start0, found.strand))
    return items


def _paths(fasta: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    return [os.fspath(fasta)] if isinstance(fasta, (str, os.PathLike)) else [os.fspath(f) for f in fasta]


def read_dna_region(files: Sequence[str | os.PathLike[str]], region: str | Region,
                    soft_mask: bool = False) -> tuple[Region, bytes, str]:
    """(the region with its record's own name, its bytes, the file) from the first of ``files`` that
    holds the record; a record in none of them is one error naming every file."""
    reg = parse_region(region) if isinstance(region, str) else region
    misses: list[str] = []
    for f in files:
        try:
            found, seq = read_region(f, reg, soft_mask=soft_mask)
        except UnknownRecordError as exc:
            misses.append(str(exc))
            continue
        assert found is not None
        return found, seq, os.fspath(f)
    if len(misses) == 1:
        raise UsageError(misses[0])
    raise UsageError(f"record {reg.chrom!r} is in none of the {len(files)} files: " + "; ".join(misses))


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
    """What an analysis job reads: --fasta FILES (every record, or the --region/--bed ones) or
    --audio FILES; `read_items` checks that exactly one is given."""

    fasta: str | Sequence[str] | None = None
    regions: Sequence[str] = ()
    bed: str | None = None
    audio: Sequence[str] = ()

    @property
    def modality(self) -> str:
        return "audio" if self.audio else "dna"

    @property
    def fasta_files(self) -> list[str]:
        """The --fasta files (one given as a string is one file)."""
        return [] if self.fasta is None else _paths(self.fasta)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> InputSpec:
        """From the jobs' --fasta, --region, --bed and --audio."""
        return cls(args.fasta, args.region, args.bed, args.audio or ())


def read_items(meta: CheckpointMetadata, spec: InputSpec) -> list[Item]:
    """The job's input as Items, in the checkpoint's byte convention (soft-masking, sample rate)."""
    fasta, regions, bed, audio = spec.fasta_files, spec.regions, spec.bed, spec.audio
    if (not fasta) == (not audio):
        raise UsageError("give exactly one of --fasta FILE or --audio FILES")
    if audio:
        if regions or bed is not None:
            raise UsageError("--region/--bed select DNA regions; they do not apply to --audio")
        return audio_items(audio, sample_rate_of(meta))
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
