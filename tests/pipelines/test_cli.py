"""The `hnet-bio` entry point: subcommands, `info`, and behaviour in a pipeline."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pipelines.cli import main
from tests.paths import ROOT


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("info", "data", "pretrain", "generate", "boundaries", "embed", "classify", "browse"):
        assert re.search(rf"^    {command}\s", out, re.MULTILINE), command


def test_info_reports_versions_and_a_reference_model(capsys: pytest.CaptureFixture[str]) -> None:
    config = ROOT / "tests" / "data" / "reference" / "hnet_2stage_XL.json"
    assert main(["info", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "torch: " in out and "fused_kernels:" in out and "mamba_ssm: False" in out
    assert "parameters: 1603492224" in out  # 1603.5M, the reference's computed count
    assert "levels: 3" in out


def test_closed_pipe_exits_quietly() -> None:
    # `hnet-bio data list | head -1`: the reader goes away; no traceback, status 141 like `yes | head`.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "info", "--config", "configs/tiny-2stage.json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err
