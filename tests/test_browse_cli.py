"""`hnet-bio browse` start-up: checkpoint names (runs/, paths, the default), server command, bad arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hnet_bio.checkpoint import save_pretrained
from hnet_bio.config import HNetConfig
from hnet_bio.lm import HNetLM
from pipelines.browse import DEFAULT_REGION_START, ENV_CHECKPOINT, ENV_DATA, ENV_POSITION, server_command
from pipelines.checkpoint_choices import DEFAULT_DNA_CHECKPOINT, checkpoint_choices, resolve
from pipelines.cli import main
from pipelines.errors import UsageError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    model = HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json"))
    for step in ("step-00000010", "step-00000200", "best"):
        save_pretrained(model, root / "exp" / "checkpoints" / step, {"modality": "dna"})
    save_pretrained(model, root / "ship-mini" / "checkpoints" / "step-00000005", {"modality": "dna"})
    (root / "empty-run" / "checkpoints").mkdir(parents=True)
    return root


def test_resolve_runs_and_paths(runs: Path) -> None:
    newest = str(runs / "exp" / "checkpoints" / "step-00000200")
    assert resolve("exp", runs) == newest  # a run by name: its newest step
    assert resolve(str(runs / "exp"), runs) == newest  # a run directory by path
    direct = runs / "exp" / "checkpoints" / "step-00000010"
    assert resolve(str(direct), runs) == str(direct)  # a checkpoint path as is
    assert resolve("ship-mini", runs) == str(runs / "ship-mini" / "checkpoints" / "step-00000005")
    assert resolve("nothing-here", runs) == "nothing-here"  # left to load_pretrained to judge
    assert checkpoint_choices(runs)[-2:] == [str(runs / "exp"), str(runs / "ship-mini")]


def test_server_command_defaults_and_options(tmp_path: Path) -> None:
    argv, env = server_command()
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4].endswith("app/main.py")
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8501"
    assert env[ENV_CHECKPOINT] == DEFAULT_DNA_CHECKPOINT and env[ENV_DATA] == "dna-sample"
    assert env[ENV_POSITION] == str(DEFAULT_REGION_START)
    fa = tmp_path / "x.fa"
    fa.write_text(">x\nACGT\n")
    argv, env = server_command("ckpt", str(fa), port=9000, host="0.0.0.0")
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0" and env[ENV_DATA] == str(fa)
    assert ENV_POSITION not in env
    with pytest.raises(UsageError, match="port"):
        server_command(port=70000)


def test_cli_bad_data_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    assert main(["browse", "--data", str(tmp_path / "missing.fa")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.fa: no such file" in err[0]
