"""`hnet-bio browse` start-up: checkpoint names (runs/, paths, the default), server command, bad arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app import access
from app import inputs as app_inputs
from hnet_bio.config import HNetConfig
from hnet_bio.errors import CheckpointError
from hnet_bio.lm import HNetLM
from pipelines.browse import (
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_REGION_START,
    ENV_CHECKPOINT,
    ENV_DATA,
    ENV_MAX_UPLOAD_MB,
    ENV_POSITION,
    ENV_REGION,
    ENV_ROOT,
    is_loopback,
    server_command,
)
from pipelines.cli import main
from pipelines.errors import UsageError
from pipelines.runs import run_dir as rd
from pipelines.runs.resolve import DEFAULT_DNA_CHECKPOINT, checkpoint_choices, resolve_checkpoint
from tests.paths import CONFIGS


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    model = HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json"))
    opt = torch.optim.AdamW(model.parameters())
    for run, step in (("exp", 10), ("exp", 200), ("ship-mini", 5)):
        rd.save_checkpoint(root / run, step, model, opt, {"step": step}, {"modality": "dna"})
    rd.mark_best(root / "exp", 10)
    (root / "empty-run" / "checkpoints").mkdir(parents=True)
    return root


def test_resolve_runs_and_paths(runs: Path) -> None:
    best = runs / "exp" / "checkpoints" / "step-00000010"
    assert resolve_checkpoint(runs / "exp").path == best  # a run directory: its best checkpoint
    assert resolve_checkpoint(f"{runs / 'exp'}@last").path.name == "step-00000200"
    assert resolve_checkpoint(f"{runs / 'exp'}@10").choice == "step 10"
    with pytest.raises(UsageError, match=r"no step 7 checkpoint .* step-00000010, step-00000200 \(best"):
        resolve_checkpoint(f"{runs / 'exp'}@7")
    direct = runs / "exp" / "checkpoints" / "step-00000010"
    assert resolve_checkpoint(direct).path == direct  # a checkpoint path as is
    assert resolve_checkpoint(f"{runs / 'ship-mini'}").choice == "last"  # never evaluated: its newest
    with pytest.raises(CheckpointError, match="shipped models"):
        resolve_checkpoint("nothing-here")
    # a path that is neither kind: what a checkpoint directory would need there
    with pytest.raises(UsageError, match=r"empty-run/checkpoints: not a checkpoint directory \(missing "
                                         r"config\.json, model\.safetensors\) nor a run directory"):
        resolve_checkpoint(runs / "empty-run" / "checkpoints")
    with pytest.raises(UsageError, match=r"no complete checkpoint"):
        resolve_checkpoint(runs / "empty-run")  # a run that saved nothing yet
    weights = best / "model.safetensors"
    with pytest.raises(UsageError, match=r"model\.safetensors: not a checkpoint directory \(a file"):
        resolve_checkpoint(weights)
    assert checkpoint_choices(runs)[-2:] == [str(runs / "exp"), str(runs / "ship-mini")]


def test_server_command_defaults_and_options(runs: Path, tmp_path: Path) -> None:
    argv, env = server_command()
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4].endswith("app/main.py")
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8501"
    assert env[ENV_CHECKPOINT] == DEFAULT_DNA_CHECKPOINT and env[ENV_DATA] == "dna-sample"
    assert env[ENV_POSITION] == str(DEFAULT_REGION_START)
    fa = tmp_path / "x.fa"
    fa.write_text(">x\nACGT\n")
    argv, env = server_command(f"{runs / 'exp'}@last", str(fa), port=9000, host="0.0.0.0",
                               data_root=str(tmp_path), max_upload_mb=5)
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0" and env[ENV_DATA] == str(fa)
    assert env[ENV_ROOT] == str(tmp_path.resolve()) and env[ENV_MAX_UPLOAD_MB] == "5"
    assert argv[argv.index("--server.maxUploadSize") + 1] == "5"  # the server refuses larger uploads
    assert env[ENV_CHECKPOINT] == f"{runs / 'exp'}@last"  # the app resolves the same text again
    assert ENV_POSITION not in env
    with pytest.raises(UsageError, match="port"):
        server_command(port=70000)
    with pytest.raises(CheckpointError, match="no-such-model: no such checkpoint directory"):
        server_command("no-such-model")  # said before any server starts


def test_the_app_reads_what_browse_sets() -> None:
    app = app_inputs
    assert (app.ENV_CHECKPOINT, app.ENV_DATA, app.ENV_REGION, app.ENV_POSITION) == (
        ENV_CHECKPOINT, ENV_DATA, ENV_REGION, ENV_POSITION)
    assert (access.ENV_ROOT, access.ENV_MAX_UPLOAD_MB, access.ENV_CHECKPOINT) == (
        ENV_ROOT, ENV_MAX_UPLOAD_MB, ENV_CHECKPOINT)
    assert access.DEFAULT_MAX_UPLOAD_MB == DEFAULT_MAX_UPLOAD_MB


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ("127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "192.168.1.4", "example.org", "")))


@pytest.mark.parametrize("args, message", [
    (["--host", "0.0.0.0"], "--host 0.0.0.0 offers the page to the network: give --data-root DIR"),
    (["--host", "::"], "--host :: offers the page to the network"),
    (["--host", "10.1.2.3", "--data-root", "NOPE"], "--data-root NOPE: not a folder"),
    (["--host", "0.0.0.0", "--data-root", "ROOT", "--data", "OUTSIDE"], "outside --data-root"),
    (["--data-root", "ROOT", "--data", "ROOT/../outside.fa"], "outside --data-root"),
    (["--max-upload-mb", "0"], "--max-upload-mb must be in 1..4096"),
])
def test_exposure_refused_one_line_exit_2(args: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.fa"
    outside.write_text(">x\nACGT\n")
    subst = {"ROOT": str(root), "NOPE": str(tmp_path / "nope"), "OUTSIDE": str(outside)}
    argv = [subst.get(a, a.replace("ROOT", str(root))) for a in args]
    message = message.replace("NOPE", str(tmp_path / "nope"))
    assert main(["browse", *argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert captured.out == ""  # no URL printed: no server started


def test_the_browser_loads_the_checkpoint_every_command_would(runs: Path) -> None:
    from app.compute import load_checkpoint

    for spec, step in ((runs / "exp", 10), (f"{runs / 'exp'}@last", 200), (f"{runs / 'exp'}@200", 200)):
        loaded = load_checkpoint(str(spec))
        assert loaded.key.split("@")[0].endswith(f"step-{step:08d}") and loaded.label == str(spec)
        assert loaded.modality == "dna" and loaded.meta.modality == "dna"
    with pytest.raises(UsageError, match=r"no step 7 checkpoint .* step-00000010, step-00000200"):
        load_checkpoint(f"{runs / 'exp'}@7")


def test_cli_bad_data_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    assert main(["browse", "--data", str(tmp_path / "missing.fa")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.fa: no such file" in err[0]
