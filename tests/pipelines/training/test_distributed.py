"""DDP on CPU (gloo): averaged gradients equal one process on the union of the batches, and the
same `hnet-bio pretrain` command finishes under `torchrun --nproc_per_node=2`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from pipelines.runs.run_dir import RunDir
from pipelines.training.distributed import DistEnv, init_distributed, shutdown
from pipelines.training.train_step import WindowBatches, forward_loss
from tests.paths import CONFIGS, DATA, ROOT

DNA = [str(DATA / f) for f in ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa", "vcholerae_O395_20kb.fa")]
SEQ, PER_RANK, WORLD = 64, 2, 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model(name: str, ratio_loss_weight: float | None) -> torch.nn.Module:
    from hnet_bio import build_model
    from hnet_bio.config import HNetConfig

    d = json.loads((CONFIGS / f"{name}.json").read_text())
    if ratio_loss_weight is not None:
        d.setdefault("hnet_bio", {})["ratio_loss_weight"] = ratio_loss_weight
    torch.manual_seed(0)
    return build_model(HNetConfig.from_dict(d))


def _grads(name: str, ratio_w: float | None, env: DistEnv, batch: int,
           ddp: bool = True) -> dict[str, torch.Tensor]:
    """Gradients of one training micro-step as the trainer computes it (same sampler, same forward)."""
    from modalities.corpora import open_corpus
    from modalities.datasets import RandomWindows

    model = _model(name, ratio_w)
    net = torch.nn.parallel.DistributedDataParallel(model) if env.distributed and ddp else model
    windows = RandomWindows(open_corpus(DNA, "train"), length=SEQ + 1, seed=0)
    (idx,) = list(WindowBatches(0, 1, 1, env.world_size, env.rank, batch))
    forward_loss(net, torch.stack([windows[i] for i in idx]), env.device, "fp32").loss.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


# (model config, ratio-loss weight override): the ratio loss off, the baseline, the ratio loss on.
SCENARIOS = [("tiny-1stage", 0.0), ("tiny-isotropic", None), ("tiny-1stage", None)]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    env = init_distributed("cpu")
    try:
        assert env.distributed and env.rank == rank
        grads = [_grads(name, ratio_w, env, PER_RANK) for name, ratio_w in SCENARIOS]
        torch.save(grads, Path(out) / f"rank{rank}.pt")
    finally:
        shutdown(env)


@pytest.fixture(scope="module")
def ddp_grads(tmp_path_factory: pytest.TempPathFactory) -> list[list[dict[str, torch.Tensor]]]:
    """Per scenario, per rank: gradients after one DDP backward (one spawn of 2 gloo processes)."""
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=WORLD, join=True)
    per_rank = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    return [[per_rank[r][i] for r in range(WORLD)] for i in range(len(SCENARIOS))]


@pytest.mark.parametrize("scenario", [0, 1], ids=["hnet-ratio-loss-off", "isotropic"])
def test_ddp_gradients_equal_single_process_on_union(ddp_grads: list, scenario: int) -> None:
    """With the ratio loss off, the loss is a mean over bytes, so the all-reduced average of the two
    ranks' gradients must equal one process's gradient on all four windows."""
    name, ratio_w = SCENARIOS[scenario]
    ranks = ddp_grads[scenario]
    single = _grads(name, ratio_w, DistEnv(), PER_RANK * WORLD)
    assert ranks[0].keys() == single.keys() and len(single) > 0
    for k in single:
        assert torch.equal(ranks[0][k], ranks[1][k]), k  # every rank holds the same averaged gradient
        torch.testing.assert_close(ranks[0][k], single[k], rtol=1e-4, atol=1e-6, msg=k)


def test_ddp_ratio_loss_is_per_rank(ddp_grads: list) -> None:
    """The ratio loss is a batch statistic (F x G), computed on each rank's own windows as the
    reference does per GPU: DDP's gradient is then the mean of the per-shard gradients."""
    name, ratio_w = SCENARIOS[2]
    ranks = ddp_grads[2]
    # Each shard alone, in this process: the rank's indices without a process group.
    shards = [_grads(name, ratio_w, DistEnv(rank=r, world_size=WORLD), PER_RANK, ddp=False)
              for r in range(WORLD)]
    for k in ranks[0]:
        mean = (shards[0][k] + shards[1][k]) / 2
        torch.testing.assert_close(ranks[0][k], mean, rtol=1e-4, atol=1e-6, msg=k)


def test_torchrun_two_processes_end_to_end(tmp_path: Path) -> None:
    run = tmp_path / "run"
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model: {ROOT / 'configs' / 'tiny-1stage.json'}\n"
                      "train: {seq_len: 64, batch_size: 2, max_steps: 6, log_every: 1, eval_every: 3,"
                      " eval_windows: 5, save_every: 3}\n")
    # --standalone: the rendezvous binds a port the OS picks, so no port chosen here can be taken
    # by another process before torchrun binds it
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "pipelines", "pretrain", "--config", str(recipe), "--data", *DNA, "--out", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("checkpoint:") == 1  # rank 0 alone reports
    train = RunDir(run).read_metrics("train")
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]  # one line per step, not one per rank
    assert train[-1]["train_bytes"] == 6 * 2 * 2 * 64  # both ranks' windows count
    state = RunDir(run).trainer_state(RunDir(run).checkpoint_path(6))
    assert state.data_position.world_size == 2
    evals = RunDir(run).read_metrics("eval")
    assert [r["step"] for r in evals] == [0, 3, 6] and evals[-1]["eval_bytes"] == 5 * 64
