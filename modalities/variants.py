"""VCF files (plain, bgzipped or gzipped) as variant records, read and written with pysam (htslib).

Reading checks what a scorer needs before any work starts: a VCF header, at least one record,
records sorted by position within a contig and each contig in one block; anything htslib cannot
parse is one `InputError` naming the file and the record. Writing adds INFO fields to the
records of an input VCF, keeping every record and header line.
"""

from __future__ import annotations

import lzma
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pysam

from hnet_bio.atomic import atomic_path, atomic_write_text
from modalities.errors import InputError, MissingInputError
from modalities.seqio import compression, open_binary


@dataclass(frozen=True)
class VcfRecord:
    """One data line: 1-based ``pos`` as in the file; ``alts`` as written (symbolic ones included)."""

    chrom: str
    pos: int
    id: str
    ref: str
    alts: tuple[str, ...]


@dataclass(frozen=True)
class InfoField:
    """An INFO field to add: its ``##INFO`` ID, Number, Type and Description."""

    id: str
    number: str
    type: str
    description: str


@contextmanager
def _open(path: Path) -> Iterator[pysam.VariantFile]:
    """The VCF as a pysam file. htslib reads plain text and BGZF; a plain gzip (or xz, bzip2) file,
    which htslib cannot open for a VCF, is decompressed to a temporary copy first."""
    pysam.set_verbosity(0)  # htslib's own stderr chatter; problems become InputErrors
    with tempfile.TemporaryDirectory() as tmp:
        readable = path
        if compression(path) in ("gzip", "xz", "bz2"):
            readable = Path(tmp) / "plain.vcf"
            try:
                with open_binary(path) as src, open(readable, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
                raise InputError(path, f"cannot be decompressed ({exc})") from None
        try:
            vf = pysam.VariantFile(str(readable))
        except (ValueError, OSError, NotImplementedError) as exc:
            raise InputError(path, f"not a readable VCF ({exc})") from None
        try:
            yield vf
        finally:
            vf.close()


def read_vcf(path: str | os.PathLike[str]) -> list[VcfRecord]:
    """Every record of a VCF, checked (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(p, "no such file")
    records: list[VcfRecord] = []
    seen: set[str] = set()
    with _open(p) as vf:
        it = iter(vf)
        while True:
            try:
                rec = next(it)
            except StopIteration:
                break
            except (ValueError, OSError) as exc:
                raise InputError(p, f"record {len(records) + 1} is malformed ({exc})") from None
            r = VcfRecord(
                str(rec.chrom),
                int(rec.pos),
                str(rec.id or "."),
                str(rec.ref or ""),
                tuple(str(a) for a in (rec.alts or ())),
            )
            _check_order(p, records, seen, r)
            records.append(r)
    if not records:
        raise InputError(p, "has no variant records")
    return records


def _check_order(p: Path, records: Sequence[VcfRecord], seen: set[str], r: VcfRecord) -> None:
    prev = records[-1] if records else None
    if prev is not None and prev.chrom == r.chrom:
        if r.pos < prev.pos:
            raise InputError(
                p,
                f"is not sorted: {r.chrom}:{r.pos} (record {len(records) + 1}) comes after "
                f"{prev.chrom}:{prev.pos}; sort it (bcftools sort)",
            )
        return
    if r.chrom in seen:
        raise InputError(
            p,
            f"is not sorted: contig {r.chrom} appears again at record {len(records) + 1}; "
            "sort it (bcftools sort)",
        )
    seen.add(r.chrom)


def write_annotated_vcf(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    fields: Sequence[InfoField],
    values: Sequence[dict[str, tuple[float | str | None, ...]]],
) -> None:
    """Copy ``source`` to ``out`` (``.gz`` -> bgzipped) with ``fields`` added to the header and
    ``values[i]`` (field id -> one value per ALT, None = missing) set on record i. Atomic.

    Records are written as htslib formats them (``str(record)``) with the INFO column extended as
    text: pysam's record translation between headers aborts the process on some inputs (a contig
    missing from the header), so the header is the only thing rebuilt through pysam.
    """
    p = Path(source)
    with _open(p) as vf:
        lines = [str(rec) for rec in vf]  # htslib adds contigs/keys the header lacks as it parses,
        header = vf.header.copy()  # so the header is copied after the full pass
    for f in fields:
        if f.id in header.info:
            header.info.remove_header(f.id)
        header.info.add(f.id, f.number, f.type, f.description)
    ids = {f.id for f in fields}
    text = str(header) + "".join(_with_info(line, values[i], ids) for i, line in enumerate(lines))
    if str(out).endswith((".gz", ".bgz")):
        with (
            atomic_path(out) as tmp,
            pysam.BGZFile(str(tmp), "wb", None) as fh,
        ):  # bgzip, so tabix can index it
            fh.write(text.encode())
    else:
        atomic_write_text(out, text)


def _with_info(line: str, values: dict[str, tuple[float | str | None, ...]], replace: set[str]) -> str:
    """A VCF data line with ``values`` added to its INFO column (earlier values of the same keys dropped)."""
    cols = line.rstrip("\n").split("\t")
    kept = [kv for kv in cols[7].split(";") if kv not in (".", "") and kv.split("=", 1)[0] not in replace]
    added = [f"{k}=" + ",".join(_info_value(x) for x in v) for k, v in values.items()]
    cols[7] = ";".join(kept + added) or "."
    return "\t".join(cols) + "\n"


def _info_value(x: float | str | None) -> str:
    if x is None:
        return "."
    return f"{x:.5g}" if isinstance(x, float) else str(x)
