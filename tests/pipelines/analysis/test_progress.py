"""Progress of long jobs: in place on a terminal, a plain line every 10 s elsewhere, with bytes/s
and the time left; -q silences it (the jobs' stderr, read back)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pytest

from pipelines.analysis.progress import ProgressBar, eta_text
from pipelines.cli import main
from tests.paths import DATA

ECOLI = DATA / "ecoli_MG1655_20kb.fa"


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_every_ten_seconds_with_rate_and_time_left() -> None:
    clock, log = _Clock(), io.StringIO()
    bar = ProgressBar("evaluate", log, clock=clock)
    for second in range(1, 61):  # 1,000 bytes a second for a minute, out of 100,000
        clock.now = float(second)
        bar(1000 * second, 100_000)
    lines = log.getvalue().splitlines()
    assert len(lines) == 6 and "\r" not in log.getvalue()  # at 10, 20, ... 60 s
    assert lines[0] == "evaluate: 10 kB / 100 kB (10%), 1,000 bytes/s, 1m30s left"
    assert lines[-1].endswith("(60%), 1,000 bytes/s, 40s left")
    bar(100_000, 100_000)
    bar.close()
    assert log.getvalue().splitlines()[-1] == "evaluate: 100,000 bytes in 60.0 s, 1,667 bytes/s"


def test_terminal_updates_in_place() -> None:
    clock, tty = _Clock(), _Terminal()
    bar = ProgressBar("embed", tty, clock=clock)
    for tick in range(1, 5):
        clock.now = tick * 0.6
        bar(tick, 10)
    assert tty.getvalue().count("\r") == 4 and "\n" not in tty.getvalue()
    assert eta_text(59.6) == "1m00s" and eta_text(7325) == "2h02m" and eta_text(-1) == "0s"


@pytest.mark.parametrize("job", ["evaluate", "boundaries", "embed", "generate"])
def test_every_long_job_reports_and_q_silences(job: str, tiny_checkpoints: Mapping[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = str(tiny_checkpoints["dna"])
    argv = {
        "evaluate": ["evaluate", "--checkpoint", ckpt, "--data", str(ECOLI), "--no-anchors",
                     "--max-windows", "4"],
        "boundaries": ["boundaries", "--checkpoint", ckpt, "--fasta", str(ECOLI), "--region",
                       "ecoli_MG1655:1-2000", "--out", str(tmp_path / "b.bed")],
        "embed": ["embed", "--checkpoint", ckpt, "--fasta", str(ECOLI), "--region", "ecoli_MG1655:1-2000",
                  "--out", str(tmp_path / "e.npz")],
        "generate": ["generate", "--checkpoint", ckpt, "--prompt", "ACGT", "--max-new-bytes", "20",
                     "--out", str(tmp_path / "g.fa")],
    }[job]
    assert main([*argv, "--overwrite"] if job in ("boundaries", "embed") else argv) == 0
    err = capsys.readouterr().err
    assert f"{job}" in err and " bytes in " in err and "bytes/s" in err, err
    assert main([*argv, "-q", "--overwrite"] if job in ("boundaries", "embed") else
                [*argv[:-1], str(tmp_path / "again.fa"), "-q"] if job == "generate" else [*argv, "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_classify_features_report_progress(tiny_checkpoints: Mapping[str, Path]) -> None:
    import numpy as np

    from hnet_bio.checkpoint import load_pretrained
    from pipelines.features.classification import model_features

    model, _ = load_pretrained(tiny_checkpoints["dna"])
    seqs = [np.frombuffer(b"ACGT" * 100, dtype=np.uint8)] * 3
    log = io.StringIO()
    model_features(model, seqs, [("inner", "mean")], progress=ProgressBar("classify: trained model", log))
    assert log.getvalue().startswith("classify: trained model: 1,200 bytes in ")
