"""Genomic regions in the user's two vocabularies, converted once at the edge.

``chr:start-end`` strings are 1-based inclusive (samtools, pyfaidx); BED is 0-based half-open.
Internally a :class:`Region` is always 0-based half-open, so slicing is ``seq[start0:end0]``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from modalities.errors import MissingInputError, RegionError

_VERSIONED = re.compile(r"(?P<acc>[A-Za-z][A-Za-z0-9_]*[0-9])\.[0-9]+")
SHOW_ALL_NAMES = 20  # an unknown name lists every record up to this many, else the closest matches
_RANGE = re.compile(r"(?P<chrom>.+):(?P<start>[0-9][0-9,]*)(?:-(?P<end>[0-9][0-9,]*))?")


class UnknownRecordError(RegionError):
    """The file holds no record of that name (nor alias): with several files, try the next one."""


@dataclass(frozen=True)
class Region:
    """A stretch of one record: ``[start0, end0)`` on ``chrom``; ``end0=None`` means to the record end."""

    chrom: str
    start0: int = 0
    end0: int | None = None
    strand: str = "+"
    name: str = ""

    def __str__(self) -> str:  # back to samtools style, so messages speak the user's language
        strand = ":-" if self.strand == "-" else ""
        if self.start0 == 0 and self.end0 is None:  # the whole record: its name, not "chr:1"
            return self.chrom + strand
        end = "" if self.end0 is None else f"-{self.end0}"
        return f"{self.chrom}:{self.start0 + 1}{end}{strand}"

    def resolve(self, record_length: int, path: str | os.PathLike[str]) -> tuple[int, int]:
        """Concrete ``(start0, end0)`` within a record of ``record_length``; past the end is an error."""
        end0 = record_length if self.end0 is None else self.end0
        if end0 > record_length or self.start0 > record_length:
            raise RegionError(
                path, f"region {self} lies past the end of record {self.chrom!r} (length {record_length})"
            )
        return self.start0, end0


def record_aliases(name: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """Other names a user may type for record ``name``: ``extra`` (a GenBank LOCUS name) and, for an
    ``ACCESSION.VERSION`` name, the unversioned accession (``NC_000913.3`` -> ``NC_000913``)."""
    m = _VERSIONED.fullmatch(name)
    found = [*extra, m["acc"]] if m else list(extra)
    return tuple(dict.fromkeys(a for a in found if a and a != name))


def resolve_record(path: str | os.PathLike[str], records: Mapping[str, Sequence[str]], wanted: str) -> str:
    """The record name ``wanted`` means: itself, else the one record it is an alias of.

    records: each record's name -> its aliases (`record_aliases`), in file order. An alias of two
    records is an error listing both; an unknown name lists every record (up to `SHOW_ALL_NAMES`) or
    the closest matches, so the user sees what to type.
    """
    if wanted in records:
        return wanted
    hits = [name for name, aliases in records.items() if wanted in aliases]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise RegionError(path, f"record name {wanted!r} is ambiguous: it could be {', '.join(hits)}; "
                                "give the full name")
    names = list(records)
    if len(names) <= SHOW_ALL_NAMES:
        shown = ", ".join(names)
        raise UnknownRecordError(path, f"unknown record name {wanted!r} (records: {shown})")
    close = closest_names(records, wanted)
    hint = f"closest: {', '.join(close)}" if close else f"first: {', '.join(names[:5])}"
    raise UnknownRecordError(path, f"unknown record name {wanted!r} ({len(names):,} records; {hint})")


def closest_names(records: Mapping[str, Sequence[str]], wanted: str, n: int = 5) -> list[str]:
    """Up to ``n`` record names most similar to ``wanted`` (by name or alias; difflib's ratio >= 0.5),
    ties in file order, so ``contig_17`` finds ``contig_017`` before ``contig_197``."""
    matcher = difflib.SequenceMatcher(b=wanted)
    scored: list[tuple[float, int, str]] = []
    for index, (name, aliases) in enumerate(records.items()):
        best = 0.0
        for candidate in (name, *aliases):
            matcher.set_seq1(candidate)
            if matcher.real_quick_ratio() >= 0.5 and matcher.quick_ratio() >= 0.5:
                best = max(best, matcher.ratio())
        if best >= 0.5:
            scored.append((-best, index, name))
    return [name for _, _, name in sorted(scored)[:n]]


def parse_region(text: str) -> Region:
    """Parse ``chr``, ``chr:start-end`` or ``chr:start-end:-`` (1-based inclusive) into a Region.

    The record name may itself contain colons (``gi|...|``, ``HLA-A*01:01``); only the last
    ``:start-end`` is taken as coordinates. A last part that has a ``-`` but is not two positive
    integers (``rec:-5-10``, ``rec:abc-def``, ``rec:5-``) is a malformed range, not a record name,
    so the user hears "cannot parse" rather than "unknown record".
    """
    raw = text.strip()
    strand = "+"
    body = raw
    if body.endswith((":-", ":+")):
        strand, body = body[-1], body[:-2]
    if any(c.isspace() or not c.isprintable() for c in body):  # FASTA names end at the first blank
        raise RegionError("<region>", f"cannot parse region {raw!r}: whitespace or control character inside")
    m = _RANGE.fullmatch(body)
    if m is None:
        tail = body.rpartition(":")[2] if ":" in body else ""
        if not body or body.endswith(":") or body.startswith(":") or "-" in tail:
            raise RegionError("<region>", f"cannot parse region {raw!r}; expected chr:start-end "
                                          "(1-based, e.g. chr1:1001-2000)")
        return Region(body, 0, None, strand)
    if not m["chrom"].strip():
        raise RegionError("<region>", f"cannot parse region {raw!r}: no record name before ':'")
    start = int(m["start"].replace(",", ""))
    end = None if m["end"] is None else int(m["end"].replace(",", ""))
    if start < 1:
        raise RegionError("<region>", f"region {raw!r}: start must be >= 1 (coordinates are 1-based)")
    if end is not None and end < start:
        raise RegionError("<region>", f"region {raw!r}: end {end} is before start {start}")
    return Region(m["chrom"], start - 1, end, strand)


def read_bed(path: str | os.PathLike[str]) -> list[Region]:
    """Read a BED file (0-based half-open; columns chrom, start, end[, name, score, strand])."""
    p = Path(path)
    if not p.exists():
        raise MissingInputError(p, "no such BED file")
    if not p.is_file():
        raise MissingInputError(p, "not a regular file (expected a BED file)")
    regions: list[Region] = []
    with open(p, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cols = line.split("\t") if "\t" in line else line.split()
            if len(cols) < 3:
                raise RegionError(p, f"line {lineno}: a BED line needs at least 3 columns (chrom start end)")
            if not (cols[1].isascii() and cols[1].isdigit() and cols[2].isascii() and cols[2].isdigit()):
                # plain decimal digits: int() also takes "+5", " 5", "1_000" and other scripts' digits
                problem = f"line {lineno}: start/end are not integers: {cols[1]!r} {cols[2]!r}"
                raise RegionError(p, problem)
            start, end = int(cols[1]), int(cols[2])
            if start < 0 or end < start:
                problem = f"line {lineno}: invalid interval {start}-{end} (need 0 <= start <= end)"
                raise RegionError(p, problem)
            strand = cols[5] if len(cols) > 5 else "+"
            if strand not in ("+", "-", "."):
                raise RegionError(p, f"line {lineno}: strand must be +, - or ., got {strand!r}")
            name = cols[3] if len(cols) > 3 else ""
            regions.append(Region(cols[0], start, end, "-" if strand == "-" else "+", name))
    if not regions:
        raise RegionError(p, "BED file has no intervals")
    return regions
