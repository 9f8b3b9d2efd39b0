"""Low-level sequence-file reading: compression sniffing, format detection, and a validating
streaming parser shared by every reader.

Files are taken as users have them: gzip/BGZF, xz and bzip2 are recognised by their magic bytes
(not their names), and the format is read from the first meaningful line (``>``, ``LOCUS``,
``ID``, ``##gff-version``) before the suffix is consulted, so a GenBank file named ``.seq`` (as
EMBOSS and NCBI name them) goes to the GenBank parser.

The parser yields *events* (a :class:`Header`, then sequence chunks as ``bytes``) instead of whole
records, so the corpus cache can stream a 5 Mb genome to disk without holding it as a string,
while ``read_fasta`` simply accumulates the same events.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hnet_bio.errors import HNetBioError
from modalities.errors import FastaFormatError, InputError, MissingInputError
from modalities.iupac import LETTERS

IUPAC = LETTERS  # everything else in a sequence line is an error
IUPAC_SET = frozenset(IUPAC)
FASTA_SUFFIXES = {".fa", ".fasta", ".fna", ".fas", ".ffn", ".frn", ".fsa", ".seq", ".mfa"}
GENBANK_SUFFIXES = {".gb", ".gbk", ".genbank", ".gbff", ".gbf"}
EMBL_SUFFIXES = {".embl", ".emb"}
GFF_SUFFIXES = {".gff", ".gff3"}
SEQUENCE_SUFFIXES = FASTA_SUFFIXES | GENBANK_SUFFIXES | EMBL_SUFFIXES | GFF_SUFFIXES
COMPRESSED_SUFFIXES = (".gz", ".bgz", ".bgzf", ".xz", ".bz2")
# What each stream library raises on a truncated or corrupt stream (bz2 raises a bare OSError).
_STREAM_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError, OSError)


@dataclass(frozen=True)
class Header:
    """Start of a record in the event stream; sequence chunks for it follow."""

    name: str
    description: str
    lineno: int
    aliases: tuple[str, ...] = ()  # GenBank/EMBL: the LOCUS/ID name, other names a region may use


def check_file(path: str | os.PathLike[str], kind: str = "sequence file") -> Path:
    """The path as a Path, or a typed error if it is missing, not a file, or empty."""
    p = Path(path)
    if not p.exists():
        raise MissingInputError(p, f"no such {kind}")
    if not p.is_file():
        raise MissingInputError(p, f"not a regular file (expected a {kind})")
    if p.stat().st_size == 0:
        raise FastaFormatError(p, f"empty file (0 bytes); expected a {kind}")
    return p


def compression(path: Path) -> str:
    """``"none"``, ``"gzip"``, ``"bgzf"`` (blocked gzip, which pyfaidx can seek in), ``"xz"`` or ``"bz2"``."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return "bz2"
    if head[:2] != b"\x1f\x8b":
        return "none"
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzf"
    return "gzip"


def open_binary(path: Path) -> BinaryIO:
    """Open for reading, transparently decompressing gzip/BGZF (valid multi-member gzip), xz and bzip2."""
    kind = compression(path)
    if kind == "none":
        return open(path, "rb")
    # The decompressing readers have BinaryIO's reading methods; typeshed types them only as
    # io.BufferedIOBase, which lacks the attributes TextIOWrapper's buffer protocol names.
    if kind == "xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    return gzip.open(path, "rb")  # type: ignore[return-value]


def stream_problem(path: Path, exc: BaseException) -> str:
    """One-line description of a decompression failure (``OSError`` from bz2 has no other marker)."""
    kind = compression(path)
    name = {"bgzf": "gzip", "none": "file"}.get(kind, kind)
    return f"truncated or corrupt {name} stream ({exc})"


def read_lines(path: Path, fh: BinaryIO) -> Iterator[bytes]:
    """Lines of ``fh``, turning decompression failures into a FastaFormatError naming the file."""
    try:
        yield from fh
    except _STREAM_ERRORS as exc:
        raise FastaFormatError(path, stream_problem(path, exc)) from None


def suffix_format(path: Path) -> str | None:
    """Format implied by the file name (compression suffixes stripped), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes.pop()
    last = suffixes[-1] if suffixes else ""
    for fmt, group in (("fasta", FASTA_SUFFIXES), ("genbank", GENBANK_SUFFIXES),
                       ("embl", EMBL_SUFFIXES), ("gff3", GFF_SUFFIXES)):
        if last in group:
            return fmt
    return None


def content_format(path: Path) -> str | None:
    """Format from the first meaningful line of the (decompressed) content, or None if it says nothing."""
    with open_binary(path) as fh:
        for line in read_lines(path, fh):
            first = line.lstrip()
            if not first or first[:1] == b";":
                continue
            if first[:1] == b">":
                return "fasta"
            if first.startswith(b"LOCUS"):
                return "genbank"
            if first.startswith(b"ID   "):
                return "embl"
            if first.startswith(b"##gff-version"):
                return "gff3"
            return None
    return None


def sequence_format(path: Path) -> str:
    """``fasta``, ``genbank``, ``embl`` or ``gff3``: from the content, else the suffix, else FASTA."""
    # FASTA as last resort: its parser gives the precise error if the file is not FASTA either.
    return content_format(path) or suffix_format(path) or "fasta"


def fasta_events(path: Path, lines: Iterable[bytes], first_lineno: int = 1) -> Iterator[Header | bytes]:
    """Validate and tokenise FASTA lines: CRLF and trailing blanks stripped, names unique, IUPAC only."""
    seen: set[str] = set()
    current: str | None = None
    for lineno, raw in enumerate(lines, first_lineno):
        line = raw.rstrip()
        if not line or line[:1] == b";":
            continue
        if line[:1] == b">":
            text = line[1:].decode("utf-8", "replace").strip()
            if not text:
                raise FastaFormatError(path, f"line {lineno}: '>' header without a record name")
            name, _, desc = text.partition(" ")
            name = name.split("\t")[0]
            if name in seen:
                raise FastaFormatError(path, f"line {lineno}: duplicate record name {name!r}")
            seen.add(name)
            current = name
            yield Header(name, desc.strip(), lineno)
            continue
        if current is None:
            raise FastaFormatError(
                path, f"line {lineno}: sequence data before any '>' header (FASTA without a header?)"
            )
        bad = line.translate(None, IUPAC)
        if bad:
            raise FastaFormatError(
                path, f"line {lineno}: invalid character {chr(bad[0])!r} in record {current!r} "
                "(allowed: IUPAC nucleotide letters)"
            )
        yield line
    if current is None:
        raise FastaFormatError(path, "no FASTA records (no '>' header line)")


def biopython_records(
    path: Path, fmt: str, error: type[InputError] = FastaFormatError
) -> Iterator[tuple[Any, list[str]]]:
    """``(record, parser warnings)`` from ``SeqIO.parse``, every failure one ``error`` line naming the file.

    Biopython reports a GenBank record cut before its ``//`` only as a warning (and then returns the
    bases it saw as if that were the record): that, and a length that disagrees with the LOCUS line,
    is an error here. Its other parser warnings never reach the terminal (multi-line noise before the
    real message); they come back as strings, for callers that need them (a feature whose location
    could not be parsed has ``location is None`` and a warning that quotes the location).
    """
    from Bio import BiopythonParserWarning, SeqIO  # why: ~160 ms to import; FASTA never needs it

    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        records = SeqIO.parse(text, fmt)
        count = 0
        while True:
            with warnings.catch_warnings(record=True) as caught:  # around next() only: we are a generator
                warnings.simplefilter("always", BiopythonParserWarning)
                try:
                    rec = next(records)
                except StopIteration:
                    rec = None
                except _STREAM_ERRORS as exc:
                    raise error(path, stream_problem(path, exc)) from None
                except HNetBioError:
                    raise
                except UnicodeEncodeError as exc:  # Biopython stores the sequence as ASCII
                    raise error(path, _non_ascii_base(path, fmt, count, exc)) from None
                except Exception as exc:  # the parser's own ValueError/AttributeError/...: one line
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise error(path, f"not a valid {fmt} file ({first})") from None
            problem = _length_problem(fmt, rec, [str(w.message) for w in caught])
            if problem:
                raise error(path, problem)
            if rec is None:
                return
            count += 1
            yield rec, [str(w.message) for w in caught]


def _biopython_events(path: Path, fmt: str) -> Iterator[Header | bytes]:
    from Bio.Seq import UndefinedSequenceError  # why: as in biopython_records

    seen: set[str] = set()
    for rec, _ in biopython_records(path, fmt):
        if rec.id in seen:
            raise FastaFormatError(path, f"duplicate record name {rec.id!r}")
        seen.add(rec.id)
        try:
            seq = bytes(rec.seq)
        except UndefinedSequenceError:
            problem = f"record {rec.id!r} has no sequence (CON/annotation-only?)"
            raise FastaFormatError(path, problem) from None
        if seq.translate(None, IUPAC):
            raise FastaFormatError(path, _invalid_letters(path, fmt, len(seen) - 1, rec.id, seq))
        desc = rec.description if rec.description != rec.id else ""
        yield Header(rec.id, desc, 0, (rec.name,) if rec.name and rec.name != rec.id else ())
        yield seq
    if not seen:
        raise FastaFormatError(path, f"no {fmt} records found")


_DECLARED_LENGTH = re.compile(r"Expected sequence length (\d+), found (\d+)")


def _length_problem(fmt: str, rec: Any, messages: list[str]) -> str | None:
    """What Biopython's warnings say is wrong with a record's length, in a user's words, or None.

    Biopython only warns (and returns the bases it saw): a file that ends inside the sequence
    ("Premature end"), and a sequence whose length differs from the one the LOCUS (ID) line
    declares, which is a different fault: the record may well end with its ``//``.
    """
    where = f"record {rec.id!r}" if rec is not None else "the last record"
    if any(m.startswith("Premature end") for m in messages):
        return f"{where} is truncated (the file ends inside its sequence, before the '//' line)"
    for message in messages:
        match = _DECLARED_LENGTH.search(message)
        if match:
            declared, found = int(match.group(1)), int(match.group(2))
            head, body = ("LOCUS", "ORIGIN") if fmt == "genbank" else ("ID", "SQ")
            return (f"{where} declares {declared:,} bases on its {head} line, but its {body} "
                    f"section holds {found:,} (bases {'missing' if found < declared else 'added'} "
                    "or the length edited)")
    return None


def _invalid_letters(path: Path, fmt: str, ordinal: int, name: str, seq: bytes) -> str:
    """The message for a GenBank/EMBL sequence with letters outside IUPAC: the first one, its base
    position and file line, and how many there are in all."""
    bad = [i for i, b in enumerate(seq) if b not in IUPAC_SET]
    first = bad[0]
    line = _sequence_line(path, fmt, ordinal, first)
    where = f"line {line}: " if line is not None else ""
    letters = "".join(sorted({chr(seq[i]) for i in bad}))
    more = f"; {len(bad):,} invalid characters in the record ({letters!r})" if len(bad) > 1 else ""
    return (f"{where}invalid character {chr(seq[first])!r} at base {first + 1:,} of record {name!r} "
            f"(allowed: IUPAC nucleotide letters){more}")


def _non_ascii_base(path: Path, fmt: str, ordinal: int, exc: UnicodeEncodeError) -> str:
    """The message for a letter Biopython cannot store (non-ASCII): where it is, if it is in a sequence."""
    letter = exc.object[exc.start]
    line = _sequence_line(path, fmt, ordinal, exc.start)
    if line is None:
        return f"not a valid {fmt} file (non-ASCII character {letter!r})"
    return (f"line {line}: invalid character {letter!r} at base {exc.start + 1:,} of record number "
            f"{ordinal + 1} (allowed: IUPAC nucleotide letters)")


def _sequence_line(path: Path, fmt: str, ordinal: int, index: int) -> int | None:
    """The file line holding base ``index`` (0-based) of the ``ordinal``-th record, cutting sequence
    lines as Biopython does (GenBank: the text after column 10; EMBL: without the trailing count);
    None if the file does not read that way."""
    start, body = (b"LOCUS", b"ORIGIN") if fmt == "genbank" else (b"ID   ", b"SQ   ")
    record, in_seq, seen = -1, False, 0
    with open_binary(path) as fh:
        for lineno, raw in enumerate(read_lines(path, fh), 1):
            line = raw.rstrip()
            if line.startswith(start):
                record, in_seq, seen = record + 1, False, 0
            elif record == ordinal and line.startswith(body):
                in_seq = True
            elif in_seq and (line.strip() == b"//" or line.startswith(b"CONTIG")):
                return None
            elif in_seq:
                if fmt == "genbank":
                    chunk = line[10:] if len(line) <= 9 or line[9:10] == b" " else line[11:]
                else:
                    parts = line.strip().rsplit(None, 1)
                    chunk = parts[0] if len(parts) == 2 and parts[1].isdigit() else line.strip()
                seen += len(chunk.replace(b" ", b""))
                if seen > index:
                    return lineno
    return None


def _gff_events(path: Path) -> Iterator[Header | bytes]:
    with open_binary(path) as fh:
        lines = read_lines(path, fh)
        for lineno, line in enumerate(lines, 1):
            if line.startswith(b"##FASTA"):
                yield from fasta_events(path, lines, lineno + 1)
                return
    raise FastaFormatError(path, "GFF3 file has no embedded ##FASTA section, so it carries no sequence")


def sequence_events(path: str | os.PathLike[str]) -> Iterator[Header | bytes]:
    """Event stream for any supported sequence file (FASTA[.gz], GenBank, EMBL, GFF3+##FASTA)."""
    p = check_file(path)
    fmt = sequence_format(p)
    if fmt == "fasta":
        with open_binary(p) as fh:
            yield from fasta_events(p, read_lines(p, fh))
    elif fmt == "gff3":
        yield from _gff_events(p)
    else:
        yield from _biopython_events(p, fmt)
