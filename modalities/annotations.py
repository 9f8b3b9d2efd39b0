"""Feature intervals (CDS, gene, ...) from GenBank/EMBL and GFF3, for labelled tasks and statistics.

Coordinates come out 0-based half-open like everything else inside the project; a joined
(multi-exon or origin-spanning) location yields one Feature per part, so a label track built
from them marks exactly the annotated bases. Each part keeps its place in the joined feature
(``parent``, ``part``/``parts``, ``offset`` = bases of the joined feature before it in the gene's
orientation, ``codon_start``), so the codon phase of a base follows the spliced CDS, not the exon it
sits in (`Feature.phase`), and only the first part holds the real start codon and the last part the
real stop codon (`Feature.has_start` / `has_stop`; not for a partial ``<``/``>`` end).

GenBank/EMBL: the parts in Biopython's order, which is transcript order (a ``complement(join(a,b))``
lists ``b`` first). GFF3: CDS lines sharing an ``ID`` (else a ``Parent``) on one record are one
joined feature, ordered along the strand; the first part's phase column gives ``codon_start``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from modalities.errors import AnnotationError
from modalities.seqio import biopython_records, check_file, open_binary, read_lines, sequence_format

DEFAULT_TYPES: tuple[str, ...] = ("CDS", "gene")


@dataclass(frozen=True)
class Feature:
    """One annotated interval ``[start0, end0)`` on ``record``; strand is ``+``, ``-`` or ``.``.

    A part of a joined location: ``parent`` names the joined feature (the same for all its parts;
    ``""``: a feature of its own), ``part`` is its index of ``parts`` in transcript order, ``offset``
    the joined feature's bases before this part in the gene's orientation. ``codon_start`` (1..3,
    GenBank's qualifier) is the joined feature's. ``partial_start``/``partial_stop``: the feature's
    5'/3' end lies outside the annotated sequence (``<``/``>``), so it holds no real start/stop codon.
    """

    record: str
    start0: int
    end0: int
    strand: str
    type: str
    name: str
    parent: str = ""
    part: int = 0
    parts: int = 1
    offset: int = 0
    codon_start: int = 1
    partial_start: bool = False
    partial_stop: bool = False

    @property
    def gene_key(self) -> tuple[str, str]:
        """What identifies the joined feature this part belongs to (for counting genes, not exons)."""
        return (self.record, self.parent or f"{self.start0}-{self.end0}{self.strand}{self.name}")

    @property
    def has_start(self) -> bool:
        """This part begins the joined feature with its real first codon (5' end, not partial)."""
        return self.part == 0 and not self.partial_start and self.codon_start == 1

    @property
    def has_stop(self) -> bool:
        """This part ends the joined feature with its real last codon (3' end, not partial)."""
        return self.part == self.parts - 1 and not self.partial_stop

    def transcript_index(self, x: np.ndarray) -> np.ndarray:
        """Forward coordinates in this part -> 0-based position in the joined feature (gene orientation)."""
        rel = (x - self.start0) if self.strand != "-" else (self.end0 - 1 - x)
        return self.offset + rel

    def phase(self, x: np.ndarray) -> np.ndarray:
        """Codon phase (0 = a codon's first base, gene orientation) of forward coordinates ``x`` here."""
        return (self.transcript_index(x) - (self.codon_start - 1)) % 3


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
        for index, feat in enumerate(rec.features):
            if feat.location is None:  # Biopython warned and set it to None; say which one
                quoted = bad_locations[0].split("'")[1] if bad_locations and "'" in bad_locations[0] else "?"
                raise AnnotationError(p, f"record {rec.id!r}: malformed location {quoted!r} of a {feat.type} "
                                         "feature")
            if wanted is not None and feat.type not in wanted:
                continue
            q = feat.qualifiers
            name = (q.get("locus_tag") or q.get("gene") or q.get("protein_id") or [""])[0]
            out += _joined_parts(p, rec.id, feat, name, index)
    return out


def _codon_start(p: Path, record: str, value: str) -> int:
    if value not in ("1", "2", "3"):
        raise AnnotationError(p, f"record {record!r}: /codon_start={value!r} (expected 1, 2 or 3)")
    return int(value)


def _joined_parts(p: Path, record: str, feat: Any, name: str, index: int) -> list[Feature]:
    """One Feature per part of a Biopython location (its parts come in transcript order)."""
    from Bio.SeqFeature import AfterPosition, BeforePosition  # why: Biopython is imported lazily

    parts = list(feat.location.parts)
    codon = _codon_start(p, record, feat.qualifiers.get("codon_start", ["1"])[0])
    first, last = parts[0], parts[-1]
    five = first.end if first.strand == -1 else first.start
    three = last.start if last.strand == -1 else last.end
    partial5 = isinstance(five, (BeforePosition, AfterPosition))
    partial3 = isinstance(three, (BeforePosition, AfterPosition))
    out, offset = [], 0
    for k, part in enumerate(parts):
        out.append(Feature(record, int(part.start), int(part.end), _strand(part.strand), feat.type, name,
                           parent=f"{feat.type}#{index}", part=k, parts=len(parts), offset=offset,
                           codon_start=codon, partial_start=partial5, partial_stop=partial3))
        offset += int(part.end) - int(part.start)
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
            phase = cols[7].strip()
            if phase not in (".", "0", "1", "2"):
                raise AnnotationError(p, f"line {lineno}: phase column must be 0, 1, 2 or '.', got {phase!r}")
            codon = 1 + (int(phase) if phase != "." else 0)
            group = unquote(attrs.get("ID") or attrs.get("Parent") or "")
            out.append(Feature(unquote(cols[0]), start - 1, end, strand, cols[2], name,
                               parent=f"{cols[2]}:{group}" if group else f"{cols[2]}#{lineno}",
                               codon_start=codon))
    return _join_gff_parts(out)


def _join_gff_parts(features: list[Feature]) -> list[Feature]:
    """Number the parts of each (record, parent) group along its strand; the first part's phase
    gives the joined feature's ``codon_start`` (GFF3's phase of later parts follows from the offsets)."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, f in enumerate(features):
        groups.setdefault((f.record, f.parent, f.strand), []).append(i)
    out = list(features)
    for members in groups.values():
        minus = features[members[0]].strand == "-"
        ordered = sorted(members, key=lambda i: features[i].start0, reverse=minus)
        codon, offset = features[ordered[0]].codon_start, 0
        for k, i in enumerate(ordered):
            out[i] = replace(features[i], part=k, parts=len(ordered), offset=offset, codon_start=codon)
            offset += features[i].end0 - features[i].start0
    return out  # in file order
