"""Fuzzing the BED, GFF3 and WAV readers with hypothesis (tests/modalities/test_input_properties.py
does FASTA, region strings and arbitrary BED text): whatever they are fed, the readers return
exactly what an independent naive parser finds, or raise their documented error (an
``InputError`` naming the file); nothing else escapes.

The naive parsers take the formats' own words: BED and GFF3 coordinates are plain decimal
integers (Python's ``int`` also takes ``+5``, `` 5``, ``1_000`` and other scripts' digits, which
no BED or GFF3 writer produces and which would shift an interval without a word).
"""

from __future__ import annotations

import itertools
import re
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from modalities.annotations import read_annotations
from modalities.audio import load_audio
from modalities.errors import AnnotationError, AudioFormatError, InputError, RegionError
from modalities.regions import read_bed
from tests.paths import DATA

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_DIGITS = re.compile(r"[0-9]+")

# Coordinates as users' files have them, and as broken writers and hand edits leave them.
_coord = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(["", "-1", "+5", " 5", "5 ", "1_000", "1e3", "٥", "0x10", "3.0", "NaN", "１"]),
)
_name = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8)


def _write(data: bytes, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with open(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


# --------------------------------------------------------------------------- BED

def _reads_exactly(text: str, suffix: str, naive: Callable[[str], object], error: type[Exception],
                   read: Callable[[Path], object]) -> None:
    """The reader returns what the naive parser says, or (only for text the naive parser refuses
    too) one error that starts with the file's path; the temporary file is removed either way."""
    path = _write(text.encode(), suffix)
    try:
        want = naive(text)
        try:
            got = read(path)
        except error as exc:
            assert want is None, f"refused valid {suffix} text: {exc}"
            assert str(exc).startswith(str(path))
            return
        assert got == want
    finally:
        path.unlink()


@st.composite
def bed_like(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["interval", "interval", "interval", "comment", "blank", "short"]))
        if kind == "comment":
            lines.append(draw(st.sampled_from(["# x", "track name=a", "browser position chr1"])))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "   ", "\t"])))
        else:
            cols = [draw(_name), draw(_coord), draw(_coord)]
            if kind == "short":
                cols = cols[: draw(st.integers(1, 2))]
            extra = draw(st.lists(st.sampled_from(["gene1", "0", "+", "-", ".", "*", "x"]), max_size=4))
            lines.append("\t".join(cols + extra))
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n"


def naive_bed(text: str) -> list[tuple[str, int, int, str, str]] | None:
    """BED by the letter: None where the file is not valid BED."""
    out = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        cols = line.split("\t")
        if len(cols) < 3 or not (_DIGITS.fullmatch(cols[1]) and _DIGITS.fullmatch(cols[2])):
            return None
        start, end = int(cols[1]), int(cols[2])
        strand = cols[5] if len(cols) > 5 else "+"
        if end < start or strand not in ("+", "-", "."):
            return None
        out.append((cols[0], start, end, "-" if strand == "-" else "+", cols[3] if len(cols) > 3 else ""))
    return out or None


@SETTINGS
@given(bed_like())
@example("c\t+5\t9\n")  # found by this test on main: read as 5..9
@example("c\t1_000\t2000\n")
@example("c\t٥\t9\n")
def test_bed_reads_exactly_what_the_format_says(text: str) -> None:
    _reads_exactly(text, ".bed", naive_bed, RegionError,
                   lambda path: [(r.chrom, r.start0, r.end0, r.strand, r.name) for r in read_bed(path)])


# --------------------------------------------------------------------------- GFF3

@st.composite
def gff_like(draw: st.DrawFn) -> str:
    lines = ["##gff-version 3"]
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["CDS", "gene", "exon"]))
        strand = draw(st.sampled_from(["+", "-", ".", "?"]))
        cols = [draw(_name), "src", kind, draw(_coord), draw(_coord), ".", strand, "0",
                draw(st.sampled_from(["ID=a", "ID=b;locus_tag=x", "Name=%41", ""]))]
        if draw(st.integers(0, 9)) == 0:
            cols = cols[: draw(st.integers(1, 8))]
        lines.append("\t".join(cols))
    if draw(st.booleans()):
        lines += ["##FASTA", ">x", "ACGT"]
    return "\n".join(lines) + "\n"


def naive_gff(text: str) -> list[tuple[str, int, int, str, str]] | None:
    out = []
    for line in text.split("\n"):
        if line.startswith(("##FASTA", ">")):
            break
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 9:
            return None
        if cols[2] not in ("CDS", "gene"):  # only the wanted types' coordinates are read (and checked)
            continue
        if not (_DIGITS.fullmatch(cols[3]) and _DIGITS.fullmatch(cols[4])):
            return None
        start, end = int(cols[3]), int(cols[4])
        if start < 1 or end < start:
            return None
        out.append((cols[0], start - 1, end, cols[6] if cols[6] in ("+", "-") else ".", cols[2]))
    return out


@SETTINGS
@given(gff_like())
@example("##gff-version 3\n0\tsrc\tCDS\t1\t+5\t.\t+\t0\tID=a\n")  # found by this test on main
def test_gff3_reads_exactly_what_the_format_says(text: str) -> None:
    _reads_exactly(text, ".gff3", naive_gff, AnnotationError, lambda path: [
        (f.record, f.start0, f.end0, f.strand, f.type) for f in read_annotations(path)])


@SETTINGS
@given(st.binary(max_size=300))
def test_gff3_arbitrary_bytes_only_documented_error(tail: bytes) -> None:
    path = _write(b"##gff-version 3\n" + tail, ".gff3")
    try:
        features = read_annotations(path, types=None)
        assert all(0 <= f.start0 <= f.end0 for f in features)
    except InputError as exc:
        assert str(exc).startswith(str(path))
    finally:
        path.unlink()


# --------------------------------------------------------------------------- WAV headers

_SPEECH = (DATA / "speech_allison_3s.wav").read_bytes()
_WAV = _SPEECH[:44 + 2000]  # the header and 1,000 samples: the header is what is fuzzed


def _with_sizes(wav: bytes) -> bytes:
    """``wav`` with its RIFF and data chunk sizes made consistent with its length."""
    data = bytearray(wav)
    data[4:8] = struct.pack("<I", len(wav) - 8)
    data[40:44] = struct.pack("<I", len(wav) - 44)
    return bytes(data)


@st.composite
def wav_headers(draw: st.DrawFn) -> bytes:
    data = bytearray(_with_sizes(_WAV))
    assert data[:4] == b"RIFF" and data[36:40] == b"data"
    for _ in range(draw(st.integers(1, 4))):
        field = draw(st.sampled_from([(4, "<I"), (16, "<I"), (20, "<H"), (22, "<H"), (24, "<I"), (28, "<I"),
                                      (32, "<H"), (34, "<H"), (40, "<I")]))
        offset, fmt = field
        limit = 2**32 - 1 if fmt == "<I" else 2**16 - 1
        value = draw(st.one_of(st.sampled_from([0, 1, 2, 3, 8, 24, 32, 64, 0xFFFE, limit]),
                               st.integers(0, limit)))
        data[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@SETTINGS
@given(wav_headers(), st.sampled_from([None, 8000]))
@example(_with_sizes(_WAV[:24] + struct.pack("<I", 1) + _WAV[28:]), 8000)  # found on main: "1 Hz"
@example(_with_sizes(_WAV[:24] + struct.pack("<I", 999_999) + _WAV[28:]), 8000)  # main: a 32 GB filter
def test_wav_header_fuzz_only_documented_error(wav: bytes, rate: int | None) -> None:
    """Any header field (sizes, format, channels, rate, block align, bits) set to anything:
    a finite mono waveform in [-1, 1] at a positive rate and of a bounded length, or
    `AudioFormatError` naming the file."""
    path = _write(wav, ".wav")
    try:
        try:
            wave, got_rate = load_audio(path, sample_rate=rate)
        except AudioFormatError as exc:
            assert str(exc).startswith(str(path))
            return
        assert wave.ndim == 1 and wave.dtype == np.float32 and len(wave) > 0
        assert np.isfinite(wave).all() and np.abs(wave).max() <= 1.0
        assert got_rate > 0 and (rate is None or got_rate == rate)
        # No header makes a few kB into megabytes: at most 8 samples out per input byte at 8 kHz
        # (main resampled a header's "1 Hz" 8,000-fold: a 1 MB file would become 32 GB).
        assert rate is None or len(wave) <= 8 * len(wav)
    finally:
        path.unlink()


# --------------------------------------------------------------------------- VCF

_VCF_HEADER = "##fileformat=VCFv4.2\n##contig=<ID=c1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@st.composite
def vcf_like(draw: st.DrawFn) -> bytes:
    """Mostly valid, sorted records, with now and then a field spelled wrongly, a record out of
    order, a missing or broken header or stray bytes."""
    lines = []
    pos = 0
    for _ in range(draw(st.integers(0, 5))):
        pos += draw(st.integers(0, 50))
        spoil = draw(st.integers(0, 5)) == 0  # one record in six has something wrong
        field = draw(st.integers(0, 7)) if spoil else -1
        cols = ["c1", str(pos + 1), "rs1", "A", "T", ".", "PASS", "DP=3"]
        if field >= 0:
            cols[field] = draw(st.sampled_from(["", "c 1", "x", "-1", "+5", "٥", "<DEL>", "A]c1:5]", "*", "=",
                                                ";;", "G,C", "N", "9" * 30]))
        lines.append("\t".join(cols[: draw(st.integers(1, 7))] if spoil and draw(st.booleans()) else cols))
    header = _VCF_HEADER if draw(st.integers(0, 9)) else draw(st.sampled_from(["", "#CHROM\n", "##x\n"]))
    tail = draw(st.binary(max_size=8)) if draw(st.integers(0, 9)) == 0 else b""
    return (header + "\n".join(lines) + ("\n" if lines else "")).encode() + tail


@SETTINGS
@given(vcf_like())
def test_vcf_only_documented_error(data: bytes) -> None:
    """VCF-shaped text with any field spelled anything, a missing or broken header, stray bytes:
    records sorted within each contig, each contig in one block, or one `InputError` naming the file."""
    from modalities.variants import read_vcf  # why: pysam (htslib) is imported only for VCFs

    path = _write(data, ".vcf")
    try:
        try:
            records = read_vcf(path)
        except InputError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc).strip()
            return
        assert records
        for a, b in itertools.pairwise(records):
            assert a.chrom != b.chrom or a.pos <= b.pos
        blocks = 1 + sum(a.chrom != b.chrom for a, b in itertools.pairwise(records))
        assert len({r.chrom for r in records}) == blocks  # each contig in one block
    finally:
        path.unlink()
