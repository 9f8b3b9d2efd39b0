"""Properties of the VCF reader (modalities/variants.py), fuzzed: whatever text it is given,
``read_vcf`` returns the records a naive parser finds in well-formed lines, or raises an
``InputError`` naming the file, never anything else; what it accepts survives a write with added
INFO fields record for record."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modalities.errors import InputError
from modalities.variants import InfoField, read_vcf, write_annotated_vcf

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=c1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"

_allele = st.sampled_from(["A", "C", "G", "T", "N", "AC", "GTT", "<DEL>", "N[c1:5[", "*", "R", "."])
_bad = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["c1\tx\t.\tA\tC\t.\t.\t.", "c1\t5", "c1\t-3\t.\tA\tC\t.\t.\t.", "\t\t\t", "#x", "c1\t5\t.\t\tC"]
    ),
)


@st.composite
def vcf_like(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, str, tuple[str, ...]]]]:
    """VCF text and the records of its well-formed lines (a bad line may be mixed in)."""
    records = []
    pos = 1
    for _ in range(draw(st.integers(0, 6))):
        chrom = draw(st.sampled_from(["c1", "c2"]))
        pos += draw(st.integers(0, 50))
        ref = draw(st.sampled_from(["A", "C", "GT", "N"]))
        alts = tuple(draw(st.lists(_allele, min_size=1, max_size=3)))
        records.append((chrom, pos, ref, alts))
    lines = [f"{c}\t{p}\t.\t{r}\t{','.join(a)}\t.\t.\t." for c, p, r, a in records]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(_bad))
        records = []  # unknown: any outcome but a crash is allowed
    return HEADER + "".join(line + "\n" for line in lines), records


def _sorted(records: list[tuple[str, int, str, tuple[str, ...]]]) -> bool:
    seen: list[str] = []
    for i, (c, p, _, _) in enumerate(records):
        if seen and seen[-1] == c:
            if p < records[i - 1][1]:
                return False
        elif c in seen:
            return False
        else:
            seen.append(c)
    return True


@SETTINGS
@given(vcf_like())
def test_read_vcf_reads_exactly_or_says_why(
    case: tuple[str, list[tuple[str, int, str, tuple[str, ...]]]],
) -> None:
    text, records = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.vcf"
        path.write_text(text)
        try:
            got = read_vcf(path)
        except InputError as exc:
            assert str(path) in str(exc)
            assert not records or not _sorted(records)
            return
        if records:
            assert [(r.chrom, r.pos, r.ref, r.alts) for r in got] == [
                (c, p, r, () if alts == (".",) else alts) for c, p, r, alts in records
            ]
        out = Path(d) / "out.vcf"
        write_annotated_vcf(
            path, out, [InfoField("X", "A", "String", "x")], [{"X": tuple("ok" for _ in r.alts)} for r in got]
        )
        again = read_vcf(out)
        assert [(r.chrom, r.pos, r.ref, r.alts) for r in again] == [
            (r.chrom, r.pos, r.ref, r.alts) for r in got
        ]


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_are_records_or_an_input_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.vcf"
        path.write_bytes(data)
        with pytest.raises(InputError):
            read_vcf(path)
