"""GenBank/EMBL records that are wrong say what is wrong: a sequence shorter (or longer) than its
LOCUS line declares is not "truncated" when it ends with its ``//``; letters outside IUPAC are
named with their base position and file line, found here independently of the parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modalities.errors import FastaFormatError
from modalities.seqio import sequence_events
from pipelines.cli import main
from tests.paths import DATA

GBK = (DATA / "leptospira_excerpt.gbk").read_text()
EMBL = (DATA / "K02675_excerpt.embl").read_text()
NAME = "NZ_AHMY02000073.1"  # the first record, 4,205 bp


def _first_record_lines() -> tuple[list[str], int, int]:
    """The first GenBank record's lines, the index of its ORIGIN line and of its '//' line."""
    lines = GBK.splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if line.startswith("//"))
    origin = next(i for i, line in enumerate(lines) if line.startswith("ORIGIN"))
    return lines[: end + 1], origin, end


def _read(path: Path) -> int:
    return sum(len(e) for e in sequence_events(path) if isinstance(e, bytes))


def test_fewer_bases_than_declared_is_not_called_truncated(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    lines, origin, end = _first_record_lines()
    kept = lines[origin + 1: origin + 5]  # 4 sequence lines of 60 bases
    short = tmp_path / "short.gbk"
    short.write_text("".join(lines[: origin + 1] + kept + [lines[end]]))
    assert short.read_text().rstrip().endswith("//")
    found = sum(len(re.sub(r"[\d\s]", "", line)) for line in kept)
    assert found == 240
    with pytest.raises(FastaFormatError) as exc:
        _read(short)
    message = str(exc.value)
    assert "truncated" not in message and "does not end" not in message, message
    assert f"record {NAME!r} declares 4,205 bases on its LOCUS line, but its ORIGIN section holds 240" \
        in message
    # Through the command: one line, exit 2.
    assert main(["data", "info", str(short)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"hnet-bio data: error: {short}: record {NAME!r} declares")


def test_more_bases_than_declared(tmp_path: Path) -> None:
    path = tmp_path / "long.gbk"
    path.write_text(GBK.replace("4205 bp", "4200 bp", 1))
    with pytest.raises(FastaFormatError, match=r"declares 4,200 bases on its LOCUS line, but its ORIGIN "
                                                r"section holds 4,205 \(bases added"):
        _read(path)


def test_a_file_cut_inside_the_sequence_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "cut.gbk"
    path.write_text(GBK[: GBK.index("//\n") - 200])
    with pytest.raises(FastaFormatError, match=rf"record '{NAME}' is truncated \(the file ends inside its "
                                                r"sequence, before the '//' line\)"):
        _read(path)


@pytest.mark.parametrize("letter", ["x", "@", "7", "é"])
def test_invalid_letters_name_their_line_and_base(tmp_path: Path, letter: str) -> None:
    """Put ``letter`` at a known base of the second record and twice more; the message gives the
    first one's file line and base position, counted here from the file text."""
    lines = GBK.splitlines(keepends=True)
    origins = [i for i, line in enumerate(lines) if line.startswith("ORIGIN")]
    row = origins[1] + 3  # the third sequence line of the second record: bases 121..180
    assert lines[row].split()[0] == "121"
    col = 10 + 7  # "      121 " then the 8th character of the first block of ten: base 128
    lines[row] = lines[row][:col] + letter + lines[row][col + 1:]
    lines[row + 2] = lines[row + 2][:12] + letter + lines[row + 2][13:]
    lines[row + 2] = lines[row + 2][:14] + "Q" + lines[row + 2][15:]
    path = tmp_path / "bad.gbk"
    path.write_text("".join(lines))
    with pytest.raises(FastaFormatError) as exc:
        _read(path)
    message = str(exc.value)
    assert f"line {row + 1}: invalid character " in message, message
    if letter.isascii():
        assert "at base 128 of record 'NZ_AHMY02000064.1'" in message
        assert "3 invalid characters in the record" in message
    else:  # Biopython cannot hold it, so it stops at the first one, before naming the record
        assert "at base 128 of record number 2" in message


def test_embl_invalid_letter_is_located(tmp_path: Path) -> None:
    lines = EMBL.splitlines(keepends=True)
    sq = next(i for i, line in enumerate(lines) if line.startswith("SQ "))
    row = sq + 2  # second sequence line: bases 61..120
    lines[row] = lines[row][:5] + "z" + lines[row][6:]
    path = tmp_path / "bad.embl"
    path.write_text("".join(lines))
    with pytest.raises(FastaFormatError, match=rf"line {row + 1}: invalid character 'Z' at base 61 "):
        _read(path)
