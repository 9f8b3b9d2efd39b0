"""`hnet-bio generate` end to end on real tiny checkpoints: FASTA for DNA, WAV for audio."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from pipelines.cli import main


@pytest.fixture(scope="module")
def checkpoints(tiny_checkpoints: Mapping[str, Path]) -> dict[str, Path]:
    return {name: tiny_checkpoints[f"{name}-2stage-untrained"] for name in ("dna", "audio")}


def test_dna_fasta_output(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from modalities.dna import read_fasta

    out = tmp_path / "gen.fa"
    argv = ["generate", "--checkpoint", str(checkpoints["dna"]), "--prompt", "ACGTTGCAACGT"]
    rc = main([*argv, "--max-new-bytes", "45", "--num-samples", "2", "--seed", "3", "--top-k", "4",
               "--out", str(out)])
    assert rc == 0
    records = read_fasta(out)
    assert [len(r.seq) for r in records] == [45, 45]
    assert all(set(r.seq) <= set(b"ACGTN") for r in records)
    assert "bytes/s" in capsys.readouterr().err


def test_prompt_from_fasta_region_and_stream(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from modalities.dna import read_fasta, write_fasta

    genome = tmp_path / "g.fa"
    seq = b"ACGT" * 30
    write_fasta([("chrT", seq)], genome)
    out = tmp_path / "gen.fasta"
    rc = main(["generate", "--checkpoint", str(checkpoints["dna"]), "--prompt-fasta", f"{genome}:chrT:5-24",
               "--max-new-bytes", "10", "--greedy", "--include-prompt", "--stream", "--out", str(out)])
    assert rc == 0
    (record,) = read_fasta(out)
    assert record.seq[:20] == seq[4:24] and len(record.seq) == 30
    assert capsys.readouterr().out.strip() == record.seq[20:].decode()


def test_fasta_to_stdout(checkpoints: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    argv = ["generate", "--checkpoint", str(checkpoints["dna"]), "--prompt", "ACG", "--max-new-bytes", "7"]
    assert main([*argv, "--seed", "0", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(">sample1") and len(lines[1]) == 7


def test_audio_wav_output(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    import soundfile as sf

    from modalities.audio import write_wav

    prompt = tmp_path / "prompt.wav"
    write_wav(prompt, np.random.default_rng(0).integers(0, 256, 400).astype(np.uint8), 8000)
    out = tmp_path / "gen.wav"
    rc = main(["generate", "--checkpoint", str(checkpoints["audio"]), "--prompt-audio", str(prompt),
               "--max-new-bytes", "60", "--seed", "1", "--out", str(out), "--quiet"])
    assert rc == 0
    data, rate = sf.read(out)
    assert rate == 8000 and len(data) == 60


@pytest.mark.parametrize(
    ("which", "extra"),
    [
        ("missing", ["--prompt", "ACGT", "--out", "x.fa"]),
        ("audio", ["--prompt", "ACGT", "--out", "x.wav"]),
        ("audio", ["--prompt-audio", "nope.wav", "--out", "x.wav"]),
        ("dna", ["--prompt", "ACGT", "--out", "x.wav"]),
        ("dna", ["--prompt", "ACGT", "--top-p", "0", "--out", "x.fa"]),
        ("dna", ["--prompt-fasta", "absent.fa:chr1:1-10", "--out", "x.fa"]),
    ],
)
def test_errors_are_one_line_and_leave_no_file(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture, which: str, extra: list[str]
) -> None:
    ckpt = checkpoints.get(which, tmp_path / "missing")
    args = [a if not a.startswith(("x.", "nope", "absent")) else str(tmp_path / a) for a in extra]
    assert main(["generate", "--checkpoint", str(ckpt), "--max-new-bytes", "5", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hnet-bio generate: error:") and "\n" not in err
    assert not any(p.name.startswith("x.") for p in tmp_path.iterdir())
