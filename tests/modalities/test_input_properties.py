"""Properties of the input parsers: whatever a user feeds them, nothing escapes but the documented
error type, and what is accepted is read exactly.

- FASTA (any bytes, and FASTA-shaped text with bad lines mixed in): ``read_fasta`` and
  ``read_sequence`` either return the records a naive reference parser finds, or raise
  ``FastaFormatError`` (an ``InputError`` naming the file).
- BED (any text): ``read_bed`` returns intervals with ``0 <= start <= end`` or raises ``RegionError``.
- Regions (any text): ``parse_region`` returns a Region that prints back to an equivalent region,
  or raises ``RegionError``.
- mu-law: decode(encode(x)) is within half a quantisation step of x in the companded domain, and
  encode(decode(c)) == c for every code.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modalities.audio import mu_law_decode, mu_law_encode
from modalities.dna import read_fasta, read_sequence
from modalities.errors import FastaFormatError, RegionError
from modalities.iupac import LETTERS
from modalities.regions import parse_region, read_bed

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_letters = st.sampled_from(sorted(set(LETTERS.decode())))
_seq_line = st.text(_letters, min_size=1, max_size=70)
_bad_line = st.one_of(
    st.binary(max_size=30),  # anything at all, including NUL, high bytes, '>' and CR
    st.sampled_from([">", "> ", ">\t", "ACGT*", "acgu", "1234", "ACGT ACGT", ";comment", "\r", "LOCUS x"]),
)
_name = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)


@st.composite
def fasta_like(draw: st.DrawFn) -> bytes:
    """FASTA text: valid records with, sometimes, a malformed line inserted anywhere."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 4))):
        lines.append(b">" + draw(_name).encode() + draw(st.sampled_from([b"", b" desc", b"\tx"])))
        lines += [s.encode() for s in draw(st.lists(_seq_line, max_size=4))]
    if draw(st.booleans()):
        pos = draw(st.integers(0, len(lines)))
        bad = draw(_bad_line)
        lines.insert(pos, bad.encode() if isinstance(bad, str) else bad)
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    return eol.join(lines) + draw(st.sampled_from([b"", eol]))


def naive_fasta(data: bytes) -> list[tuple[str, bytes]] | None:
    """Independent reference: records of strictly valid FASTA, None for anything questionable."""
    records: list[tuple[str, bytes]] = []
    for raw in data.split(b"\n"):
        line = raw.rstrip()
        if not line or line.startswith(b";"):
            continue
        if line.startswith(b">"):
            name = line[1:].decode("utf-8", "replace").strip().split(" ")[0].split("\t")[0]
            if not name or any(n == name for n, _ in records):
                return None
            records.append((name, b""))
        elif not records or line.translate(None, LETTERS):
            return None
        else:
            records[-1] = (records[-1][0], records[-1][1] + line.upper())
    return records or None


def _write(data: bytes, suffix: str = ".fa") -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with open(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def _check_fasta(data: bytes) -> None:
    path = _write(data)
    try:
        expected = naive_fasta(data)
        try:
            got = [(r.name, r.seq) for r in read_fasta(path)]
        except FastaFormatError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            assert expected is None or data.lstrip().startswith((b"LOCUS", b"ID   ")), (data, exc)
            return
        if expected is not None:
            assert got == expected
        if len(got) == 1:  # the random-access reader (pyfaidx) gives the same bases
            assert read_sequence(path) == got[0][1]
    finally:
        path.unlink()
        for side in (Path(f"{path}.fai"), Path(f"{path}.gzi")):
            side.unlink(missing_ok=True)


@SETTINGS
@given(fasta_like())
def test_fasta_like_text_parses_exactly_or_fails_documented(data: bytes) -> None:
    _check_fasta(data)


@SETTINGS
@given(st.binary(max_size=200))
def test_fasta_arbitrary_bytes_only_documented_error(data: bytes) -> None:
    if not data:
        return  # an empty file is a separate, tested case (check_file)
    _check_fasta(data)


_bed_field = st.one_of(st.integers(-5, 10**12).map(str), st.text(max_size=6),
                       st.sampled_from(["+", "-", ".", "", "1e3", "1_000", "٣"]))


@st.composite
def bed_like(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        cols = draw(st.lists(_bed_field, min_size=0, max_size=7))
        lines.append(draw(st.sampled_from(["\t", " "])).join(cols))
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(["#c", "track name=x", "browser position", ""])))
    return "\n".join(lines)


@SETTINGS
@given(st.one_of(bed_like(), st.text(max_size=200)))
def test_bed_only_documented_error(text: str) -> None:
    path = _write(text.encode("utf-8", "surrogatepass"), ".bed")
    try:
        regions = read_bed(path)
    except RegionError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    finally:
        path.unlink()
    assert regions
    for r in regions:
        assert 0 <= r.start0 <= (r.end0 if r.end0 is not None else math.inf) and r.strand in "+-"


_region_text = st.one_of(
    st.text(max_size=30),
    st.builds(lambda n, a, b, s: f"{n}:{a}-{b}{s}", _name, st.integers(-3, 10**9), st.integers(-3, 10**9),
              st.sampled_from(["", ":-", ":+"])),
    st.builds(lambda n, t: f"{n}:{t}", _name, st.text(st.sampled_from("0123456789,-abc:"), max_size=10)),
)


@SETTINGS
@given(_region_text)
def test_region_parser_only_documented_error(text: str) -> None:
    try:
        reg = parse_region(text)
    except RegionError as exc:
        assert "\n" not in str(exc).strip("\n") or "\n" in text
        return
    assert reg.chrom and reg.start0 >= 0 and (reg.end0 is None or reg.end0 >= reg.start0 + 1)
    again = parse_region(str(reg))  # samtools-style text of a region parses back to the same region
    assert (again.chrom, again.start0, again.end0, again.strand) == (reg.chrom, reg.start0, reg.end0,
                                                                     reg.strand)


MU = 255.0


def _compress(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)


@SETTINGS
@given(st.lists(st.floats(-1.0, 1.0, width=32), min_size=1, max_size=64))
def test_mu_law_round_trip_within_half_a_step(values: list[float]) -> None:
    x = np.asarray(values, dtype=np.float32)
    back = mu_law_decode(mu_law_encode(x))
    assert back.dtype == np.float32 and back.shape == x.shape
    assert np.abs(_compress(back) - _compress(x)).max() <= 1.0 / MU + 1e-5


@SETTINGS
@given(st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=64))
def test_mu_law_clamps_out_of_range(values: list[float]) -> None:
    """Out-of-range and infinite samples clamp to the end codes instead of wrapping around."""
    x = np.asarray(values, dtype=np.float32)
    assert np.array_equal(mu_law_encode(x), mu_law_encode(np.clip(x, -1.0, 1.0)))


@SETTINGS
@given(st.binary(min_size=1, max_size=256))
def test_mu_law_codes_survive_decode_encode(codes: bytes) -> None:
    c = np.frombuffer(codes, dtype=np.uint8)
    assert np.array_equal(mu_law_encode(mu_law_decode(c)), c)
