"""The `hnet-bio` entry point: subcommands, `info`, behaviour in a pipeline, and one meaning of
``--checkpoint`` (a checkpoint or run directory, RUN@last|@STEP, a shipped name) in every job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hnet_bio import HNetConfig, HNetLM
from hnet_bio.shipped import shipped_models
from pipelines.cli import main
from pipelines.runs import run_dir as rd
from pipelines.runs.resolve import CHECKPOINT_HELP
from tests.paths import CONFIGS, DATA, ROOT

ECOLI = DATA / "ecoli_MG1655_20kb.fa"


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("info", "data", "pretrain", "generate", "boundaries", "embed", "classify", "browse"):
        assert re.search(rf"^    {command}\s", out, re.MULTILINE), command


def test_info_reports_versions_and_a_reference_model(capsys: pytest.CaptureFixture[str]) -> None:
    config = DATA / "reference" / "hnet_2stage_XL.json"
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


# --------------------------------------------------------------------------- --checkpoint in every job

@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pretraining run: step 10 (marked best) and step 20 (the last), with different weights
    and their steps in the metadata, so an output tells which of the two a job loaded."""
    root = tmp_path_factory.mktemp("run") / "run"
    for step, seed in ((10, 0), (20, 1)):
        torch.manual_seed(seed)
        model = HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json"))
        rd.save_checkpoint(root, step, model, torch.optim.AdamW(model.parameters()), {"step": step},
                           {"modality": "dna", "byte_convention": "ascii-upper", "step": step})
    rd.mark_best(root, 10)
    return root


def _job_output(argv: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> bytes:
    """What one job run wrote: its --out file (embeddings only, for .npz) or its stdout."""
    out.unlink(missing_ok=True)
    assert main(argv) == 0
    printed = capsys.readouterr().out.encode()
    if out.suffix == ".npz":
        return np.load(out)["embeddings"].tobytes()
    return out.read_bytes() if out.exists() else printed


JOBS = {
    "boundaries": lambda out: ["boundaries", "--fasta", str(ECOLI), "--region", "ecoli_MG1655:1-400",
                               "--out", str(out.with_suffix(".bed")), "--quiet"],
    "embed": lambda out: ["embed", "--fasta", str(ECOLI), "--region", "ecoli_MG1655:1-400",
                          "--out", str(out.with_suffix(".npz")), "--quiet"],
    "generate": lambda out: ["generate", "--prompt", "ACGTACGT", "--max-new-bytes", "12", "--greedy",
                             "--quiet"],
}
SUFFIX = {"boundaries": ".bed", "embed": ".npz", "generate": ".fa"}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_every_job_reads_a_run_directory_and_a_choice_within_it(
    job: str, run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = (tmp_path / "o").with_suffix(SUFFIX[job])

    def output(spec: str | Path) -> bytes:
        return _job_output([*JOBS[job](out), "--checkpoint", str(spec)], out, capsys)

    step10, step20 = output(rd.RunDir(run).checkpoint_path(10)), output(rd.RunDir(run).checkpoint_path(20))
    assert step10 != step20  # the two checkpoints are told apart by what the job writes
    assert output(run) == step10  # a bare run directory: its best checkpoint
    assert output(f"{run}@last") == step20
    assert output(f"{run}@20") == step20


def test_classify_reads_run_directories_for_both_checkpoints(run: Path, tmp_path: Path) -> None:
    labels = tmp_path / "l.tsv"
    rows = [f"ecoli_MG1655:{1 + 100 * i}-{100 * (i + 1)}\t{'ab'[i % 2]}\t{'test' if i >= 8 else 'train'}"
            for i in range(12)]
    labels.write_text("\n".join(rows) + "\n")
    out = tmp_path / "r.json"
    assert main(["classify", "--checkpoint", str(run), "--baseline-checkpoint", f"{run}@last",
                 "--labels", str(labels), "--fasta", str(ECOLI), "--no-random-init", "--kmer-max", "1",
                 "--bootstrap", "10", "--quiet", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["checkpoint"] == str(run) and report["checkpoint_step"] == 10  # best
    assert report["baseline_checkpoint"] == f"{run}@last"
    assert [r["step"] for r in report["rows"] if r.get("model") == "baseline"] == [20]


@pytest.mark.parametrize("job", ["boundaries", "embed", "classify", "generate", "browse"])
def test_an_unknown_checkpoint_is_the_same_one_line_everywhere(
    job: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rest = {"boundaries": ["--fasta", str(ECOLI), "--out", str(tmp_path / "o.bed")],
            "embed": ["--fasta", str(ECOLI), "--out", str(tmp_path / "o.npz")],
            "classify": ["--task", "coding", "--out", str(tmp_path / "o.json")],
            "generate": ["--prompt", "ACGT"], "browse": []}[job]
    assert main([job, "--checkpoint", "no-such-model", *rest]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    known = ", ".join(shipped_models()) or "none installed"
    assert err == [f"hnet-bio {job}: error: no-such-model: no such checkpoint directory, and not a shipped "
                   f"model (shipped models: {known})"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("job", ["boundaries", "embed", "classify", "generate"])
def test_a_missing_step_lists_what_the_run_holds(
    job: str, run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rest = {"boundaries": ["--fasta", str(ECOLI), "--out", str(tmp_path / "o.bed")],
            "embed": ["--fasta", str(ECOLI), "--out", str(tmp_path / "o.npz")],
            "classify": ["--task", "coding", "--out", str(tmp_path / "o.json")],
            "generate": ["--prompt", "ACGT"]}[job]
    assert main([job, "--checkpoint", f"{run}@7", *rest]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        f"{run}@7: no step 7 checkpoint in {run}; checkpoints there: step-00000010, step-00000020 "
        "(best: step-00000010)")


@pytest.mark.parametrize("job", ["boundaries", "embed", "classify", "generate", "browse"])
def test_checkpoint_help_names_every_form(job: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([job, "--help"])
    assert CHECKPOINT_HELP in " ".join(capsys.readouterr().out.split())
