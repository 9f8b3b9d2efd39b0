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
from collections import Counter
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
    misses: list[UnknownRecordError] = []
    for f in files:
        try:
            found, seq = read_region(f, reg, soft_mask=soft_mask)
        except UnknownRecordError as exc:
            misses.append(exc)
            continue
        assert found is not None
        return found, seq, os.fspath(f)
    if len(misses) == 1:
        raise misses[0]  # the file's own error (callers such as the browser recognise its kind)
    raise UnknownRecordError(", ".join(os.fspath(f) for f in files),
                             f"unknown record name {reg.chrom!r}: in none of the {len(files)} files ("
                             + "; ".join(f"{m.path}: {m.problem}" for m in misses) + ")")


def audio_items(files: Sequence[str | os.PathLike[str]], sample_rate: int) -> list[Item]:
    """Each audio file as mu-law bytes at ``sample_rate``, named by `unique_names` of the paths."""
    names = unique_names(files)
    return [Item(n, encode_file(f, sample_rate), str(f), sample_rate=sample_rate)
            for n, f in zip(names, files)]


def unique_names(files: Sequence[str | os.PathLike[str]]) -> list[str]:
    """A name per file that no other file shares: its stem, with as many parent folders as it takes
    (``digits/1.wav`` and ``letters/1.wav`` are ``digits/1`` and ``letters/1``, ``a/1.wav`` alone is
    ``1``); the same path given twice gets ``#2``."""
    parts = [Path(f).with_suffix("").parts or (str(f),) for f in files]
    depth = [1] * len(files)
    while True:
        names = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clash = {n for n, k in Counter(names).items() if k > 1}
        grow = [i for i, n in enumerate(names) if n in clash and depth[i] < len(parts[i])]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def sample_rate_of(meta: CheckpointMetadata) -> int:
    """The rate an audio checkpoint's bytes are sampled at: the recorded one, else the default
    (`modalities.audio.DEFAULT_SAMPLE_RATE`; checkpoints from before the rate was recorded)."""
    return meta.sample_rate_or(DEFAULT_SAMPLE_RATE)


DEVICE_HELP = ("where the model runs: auto (default: the GPU when CUDA is present, else the CPU), "
               "cpu, cuda or cuda:N")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``--device``: ``auto`` is CUDA when torch sees a GPU, else the CPU; ``cuda`` without one is a
    usage error (one line), not a crash deep inside the first forward."""
    if isinstance(name, torch.device):
        return name
    text = (name or "auto").strip().lower()
    if text == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(text)
    except RuntimeError:
        raise UsageError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: no CUDA device here (torch.cuda.is_available() is False); "
                             "use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type != "cpu":
        raise UsageError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    return device


def load_model_for(
    checkpoint: str | os.PathLike[str], wanted: str, device: str | torch.device | None = "cpu",
) -> tuple[HNetLM | IsotropicLM, CheckpointMetadata]:
    """The model (on ``device``) and metadata of the checkpoint the user named (`pipelines.runs.resolve`:
    a checkpoint or run directory, RUN@last|@STEP, a shipped name), refusing the other modality."""
    model, meta = load_pretrained(resolve_checkpoint(checkpoint).path, map_location=resolve_device(device))
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
    """--device, --threads, --overwrite and -q/--quiet, the same in every analysis job (read with
    `resolve_device`, `apply_threads`, `check_outputs` and the job's log)."""
    add_device_option(p)
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads per process (default 1, the fastest measured; long inputs use a worker "
                        "process per idle core instead)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_quiet_option(p)


def add_device_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help=DEVICE_HELP)


def add_quiet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress or summary on stderr (progress: bytes/s and time left, a line every "
                        "10 s when stderr is not a terminal)")


# Threads per process when --threads is not given, from measurement on the 2-core machine
# (benchmarks/inference.py, benchmarks/README.md): one forward process ran 0.25x as fast with two
# OpenMP threads as with one, and step decoding 8x slower (issue 22). The work is small tensors and
# memory-bound elementwise passes, where threads mostly wait on each other; the second core is used
# by a second process instead (`hnet_bio.workers`, chosen from the load average).
JOB_THREADS = 1


def apply_threads(threads: int | None) -> None:
    """Set torch's CPU threads from --threads, else JOB_THREADS."""
    if threads is not None and threads < 1:
        raise UsageError("--threads must be >= 1")
    torch.set_num_threads(JOB_THREADS if threads is None else threads)
