"""Feature intervals (CDS, gene, ...) from GenBank/EMBL and GFF3, for labelled tasks.

Coordinates come out 0-based half-open like everything else inside the project; a joined
(multi-exon or origin-spanning) location yields one Feature per part, so a label track built
from them marks exactly the annotated bases.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from modalities.errors import AnnotationError
from modalities.seqio import biopython_records, check_file, open_binary, read_lines, sequence_format

DEFAULT_TYPES: tuple[str, ...] = ("CDS", "gene")


@dataclass(frozen=True)
class Feature:
    """One annotated interval ``[start0, end0)`` on ``record``; strand is ``+``, ``-`` or ``.``."""

    record: str
    start0: int
    end0: int
    strand: str
    type: str
    name: str


def read_annotations(
    path: str | os.PathLike[str], types: Iterable[str] | None = DEFAULT_TYPES
) -> list[Feature]:
    """Features of the given ``types`` (None: all) from a GenBank, EMBL or GFF3 file."""
    p = check_file(path, "annotation file")
    wanted = None if types is None else set(types)
    fmt = sequence_format(p)
    if fmt == "gff3":
        return _gff3_features(p, wanted)
    if fmt in ("genbank", "embl"):
        return _biopython_features(p, fmt, wanted)
    raise AnnotationError(p, "no annotations: expected a GenBank, EMBL or GFF3 file")


def _strand(value: int | None) -> str:
    return "+" if value == 1 else "-" if value == -1 else "."


def _biopython_features(p: Path, fmt: str, wanted: set[str] | None) -> list[Feature]:
    out: list[Feature] = []
    for rec, notes in biopython_records(p, fmt, AnnotationError):
        bad_locations = [n for n in notes if n.startswith("Could not parse feature location")]
        for feat in rec.features:
            if feat.location is None:  # Biopython warned and set it to None; say which one
                quoted = bad_locations[0].split("'")[1] if bad_locations and "'" in bad_locations[0] else "?"
                raise AnnotationError(p, f"record {rec.id!r}: malformed location {quoted!r} of a {feat.type} "
                                         "feature")
            if wanted is not None and feat.type not in wanted:
                continue
            q = feat.qualifiers
            name = (q.get("locus_tag") or q.get("gene") or q.get("protein_id") or [""])[0]
            for part in feat.location.parts:
                out.append(Feature(rec.id, int(part.start), int(part.end), _strand(part.strand),
                                   feat.type, name))
    return out


def _gff3_features(p: Path, wanted: set[str] | None) -> list[Feature]:
    out: list[Feature] = []
    with open_binary(p) as fh:
        for lineno, raw in enumerate(read_lines(p, fh), 1):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("##FASTA") or line.startswith(">"):
                break
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 9:
                raise AnnotationError(p, f"line {lineno}: a GFF3 feature line needs 9 tab-separated columns")
            if wanted is not None and cols[2] not in wanted:
                continue
            if not all(c.isascii() and c.isdigit() for c in cols[3:5]):  # not int(): it takes "+5", "1_000"
                raise AnnotationError(p, f"line {lineno}: start/end are not integers")
            start, end = int(cols[3]), int(cols[4])
            if start < 1 or end < start:
                raise AnnotationError(p, f"line {lineno}: invalid 1-based interval {start}..{end}")
            attrs = dict(kv.split("=", 1) for kv in cols[8].split(";") if "=" in kv)
            name = unquote(attrs.get("locus_tag") or attrs.get("Name") or attrs.get("ID") or "")
            strand = cols[6] if cols[6] in ("+", "-") else "."
            out.append(Feature(unquote(cols[0]), start - 1, end, strand, cols[2], name))
    return out
