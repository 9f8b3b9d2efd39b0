"""DNA as bytes: FASTA/GenBank/EMBL/GFF3 in, ASCII nucleotide bytes out, and back to FASTA.

Byte convention (docs/modalities.md): the letters themselves, upper-cased unless ``soft_mask=True`` keeps
lower-case (repeat-masked) bases; N and other IUPAC codes are kept as their letters. Region
strings are samtools-style 1-based inclusive; BED is 0-based half-open (see :mod:`regions`).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hnet_bio.atomic import atomic_write
from modalities.annotations import Feature, read_annotations
from modalities.cache import cache_root
from modalities.errors import RegionError
from modalities.iupac import LETTERS, complement_table, reverse_complement
from modalities.regions import Region, parse_region, read_bed, record_aliases, resolve_record
from modalities.seqio import Header, check_file, compression, open_binary, sequence_events, sequence_format

__all__ = [
    "Feature", "Record", "Region", "complement_table", "fasta_lines", "n_fraction", "parse_region",
    "read_annotations", "read_bed", "read_fasta", "read_region", "read_sequence", "reverse_complement",
    "write_fasta",
]

@dataclass(frozen=True)
class Record:
    """One sequence record; ``seq`` is ASCII bytes in the module's byte convention."""

    name: str
    description: str
    seq: bytes


def n_fraction(seq: bytes | np.ndarray) -> float:
    """Fraction of N/n bytes: the filter for windows that are mostly assembly gaps."""
    arr = np.frombuffer(seq, dtype=np.uint8) if isinstance(seq, bytes) else np.asarray(seq, dtype=np.uint8)
    if arr.size == 0:
        return 0.0
    return float(np.count_nonzero((arr == ord("N")) | (arr == ord("n")))) / arr.size


def iter_records(path: str | os.PathLike[str], *, soft_mask: bool = False) -> Iterator[Record]:
    """Records one at a time (each held whole in memory; use the corpus cache for streaming)."""
    name: str | None = None
    desc = ""
    chunks: list[bytes] = []
    for ev in sequence_events(path):
        if isinstance(ev, Header):
            if name is not None:
                yield Record(name, desc, b"".join(chunks))
            name, desc, chunks = ev.name, ev.description, []
        else:
            chunks.append(ev if soft_mask else ev.upper())
    if name is not None:
        yield Record(name, desc, b"".join(chunks))


def read_fasta(path: str | os.PathLike[str], *, soft_mask: bool = False) -> list[Record]:
    """All records of a FASTA (plain/gzip/BGZF), GenBank, EMBL or GFF3+##FASTA file, validated."""
    return list(iter_records(path, soft_mask=soft_mask))


def read_sequence(
    path: str | os.PathLike[str], region: str | Region | None = None, *, soft_mask: bool = False
) -> bytes:
    """Bytes of one region (``chr:start-end[:-|+]``, 1-based inclusive) or of a single-record file.

    Plain and BGZF FASTA are read by random access through pyfaidx (``.fai`` built or reused);
    other formats and plain gzip are streamed once. A ``-`` strand returns the reverse complement.
    The record may be named by an alias (`read_region`).
    """
    return read_region(path, region, soft_mask=soft_mask)[1]


def read_region(
    path: str | os.PathLike[str], region: str | Region | None = None, *, soft_mask: bool = False
) -> tuple[Region | None, bytes]:
    """`read_sequence`, and the region with its record's own name: a GenBank record may be named by
    its LOCUS name or its unversioned accession, any ``ACCESSION.VERSION`` name without the version
    (`modalities.regions.resolve_record`); what comes back names it as the file does, so features
    and outputs match it."""
    p = check_file(path)
    try:
        reg = parse_region(region) if isinstance(region, str) else region
    except RegionError as exc:  # name the file the region was meant for
        raise RegionError(p, exc.problem) from None
    seq: bytes | None = None
    found: Region | None = None
    if sequence_format(p) == "fasta" and compression(p) in ("none", "bgzf") and _starts_with_header(p):
        got = _read_with_faidx(p, reg)
        if got is not None:
            found, seq = got
    if seq is None or seq.translate(None, LETTERS):
        # pyfaidx could not index it, or read something that is not a base (a ';' comment line
        # counts as sequence to it): the streaming parser reads it right or names the bad line.
        found, seq = _read_by_streaming(p, reg)
    if not soft_mask:
        seq = seq.upper()
    if reg is not None and reg.strand == "-":
        seq = reverse_complement(seq)
    return found, seq


def _starts_with_header(p: Path) -> bool:
    """Cheap sniff so a header-less file gets the streaming parser's precise error, not pyfaidx's.

    A plain file whose last line has no newline is left to the streaming parser too: pyfaidx 0.9
    then misses a short line just before it (``>r\nAAA\nA\nA`` reads as 4 bases, not 5).
    """
    with open_binary(p) as fh:
        if fh.read(4096).lstrip()[:1] != b">":
            return False
    if compression(p) == "none":
        with open(p, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
    return True


def _index_paths(p: Path) -> tuple[str, str]:
    """Where pyfaidx keeps .fai/.gzi: next to the file if we may write there, else in our cache."""
    fai, gzi = Path(f"{p}.fai"), Path(f"{p}.gzi")
    if fai.exists() or os.access(p.parent, os.W_OK):
        return str(fai), str(gzi)
    key = hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:16]
    root = cache_root() / "faidx"
    root.mkdir(parents=True, exist_ok=True)
    return str(root / f"{p.name}-{key}.fai"), str(root / f"{p.name}-{key}.gzi")


def _read_with_faidx(p: Path, reg: Region | None) -> tuple[Region | None, bytes] | None:
    """Random access through pyfaidx; None when pyfaidx cannot index the file (irregular lines)."""
    import pyfaidx  # why: ~40 ms to import, and only indexed FASTA reads need it

    fai, gzi = _index_paths(p)
    try:
        fa = pyfaidx.Fasta(str(p), indexname=fai, gzi_indexname=gzi, as_raw=True, sequence_always_upper=False)
    except (pyfaidx.FastaIndexingError, ValueError):  # ValueError covers UnicodeDecodeError
        # Ragged lines, duplicate names, a non-UTF-8 comment: the streaming parser reads the file
        # (';' comments are legal) or names the problem with its line number.
        return None
    with fa:
        names = list(fa.keys())
        name = _pick_record(p, {n: record_aliases(n) for n in names}, reg)
        length = len(fa[name])
        found = None if reg is None else replace(reg, chrom=name)
        start, end = (0, length) if found is None else found.resolve(length, p)
        seq = str(fa[name][start:end]).encode("ascii") if end > start else b""
    # pyfaidx trusts the first line's width; a ragged record it failed to notice reads short.
    return (found, seq) if len(seq) == end - start else None


def _pick_record(p: Path, records: dict[str, tuple[str, ...]], reg: Region | None) -> str:
    """The record to read: the only one (no region), else the one the region names (or aliases)."""
    names = list(records)
    if reg is None:
        if len(names) != 1:
            raise RegionError(p, f"file has {len(names)} records; give a region such as {names[0]}:1-1000")
        return names[0]
    return resolve_record(p, records, reg.chrom)


def _read_by_streaming(p: Path, reg: Region | None) -> tuple[Region | None, bytes]:
    """One pass over the file, keeping the records the region's name could mean (itself or an alias)."""
    records: dict[str, tuple[str, ...]] = {}
    kept: dict[str, list[bytes]] = {}
    current: list[bytes] | None = None
    for ev in sequence_events(p):
        if isinstance(ev, Header):
            records[ev.name] = record_aliases(ev.name, ev.aliases)
            wanted = reg is None or reg.chrom == ev.name or reg.chrom in records[ev.name]
            if reg is None:
                kept.clear()
            current = kept.setdefault(ev.name, []) if wanted else None
        elif current is not None:
            current.append(ev)
    name = _pick_record(p, records, reg)
    seq = b"".join(kept.get(name, []))
    if reg is None:
        return None, seq
    found = replace(reg, chrom=name)
    start, end = found.resolve(len(seq), p)
    return found, seq[start:end]


def fasta_lines(records: Iterable[Record | tuple[str, bytes]], line_width: int = 60) -> Iterator[bytes]:
    """FASTA text of ``records`` line by line (newlines included), sequences wrapped at ``line_width``."""
    if line_width < 1:
        raise ValueError("line_width must be >= 1")
    for rec in records:
        if isinstance(rec, Record):
            name, desc, seq = rec.name, rec.description, rec.seq
        else:
            name, desc, seq = rec[0], "", rec[1]
        yield (f">{name} {desc}" if desc else f">{name}").encode() + b"\n"
        seq = bytes(seq)
        for i in range(0, len(seq), line_width):
            yield seq[i : i + line_width] + b"\n"


def write_fasta(
    records: Iterable[Record | tuple[str, bytes]], path: str | os.PathLike[str], line_width: int = 60
) -> Path:
    """Write records as FASTA wrapped at ``line_width`` (gzip if the name ends in .gz), atomically."""
    lines = fasta_lines(records, line_width)
    target = Path(path)
    with atomic_write(target) as raw:
        out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if target.suffix == ".gz" else raw
        for line in lines:
            out.write(line)
        if out is not raw:
            out.close()
    return target
