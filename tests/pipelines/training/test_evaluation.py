"""Held-out bits per byte (`evaluate_bpb`): an independent float64 sum of log-probabilities, the same
number whatever the batch size, and the metrics.jsonl fields of its `HeldOutScore`."""

from __future__ import annotations

import math

import pytest
import torch

from hnet_bio import build_model
from hnet_bio.config import HNetConfig
from pipelines.runs.records import EvalRecord
from pipelines.training.distributed import DistEnv
from pipelines.training.evaluation import HeldOutScore, evaluate_bpb
from tests.paths import CONFIGS


def _windows(n: int, length: int) -> list[torch.Tensor]:
    """``n`` random ACGT windows of ``length`` bytes, (length,) uint8 each."""
    g = torch.Generator().manual_seed(3)
    acgt = torch.tensor(list(b"ACGT"), dtype=torch.uint8)
    return [acgt[torch.randint(0, 4, (length,), generator=g)] for _ in range(n)]


@pytest.mark.parametrize(("config", "stages"), [("tiny-2stage", 2), ("tiny-isotropic", 0)])
def test_bits_per_byte_against_float64_log_probs(config: str, stages: int) -> None:
    torch.manual_seed(0)
    model = build_model(HNetConfig.from_json(CONFIGS / f"{config}.json")).eval()
    windows = _windows(7, 65)
    score = evaluate_bpb(model, windows, DistEnv(), batch_size=3)  # batches of 3, 3, 1
    w = torch.stack(windows).long()
    with torch.no_grad():
        logits = model(w[:, :-1]).logits.double()  # (7, 64, 256)
    nll = -torch.log_softmax(logits, -1).gather(-1, w[:, 1:, None]).sum().item()
    assert score.predicted_bytes == 7 * 64
    assert score.bits_per_byte == pytest.approx(nll / (7 * 64) / math.log(2), rel=1e-5)
    assert len(score.bytes_per_chunk) == stages and all(c >= 1 for c in score.bytes_per_chunk)
    one_batch = evaluate_bpb(model, windows, DistEnv(), batch_size=7)
    assert one_batch.bits_per_byte == pytest.approx(score.bits_per_byte, rel=1e-6)


def test_score_json_is_the_eval_line_of_metrics() -> None:
    """to_json: the three fields of a ``kind: eval`` line, with their names and in their order."""
    score = HeldOutScore(bits_per_byte=1.5, predicted_bytes=640, bytes_per_chunk=(2.5, 3.0))
    assert score.to_json() == {"eval_bpb": 1.5, "eval_bytes": 640, "eval_compression": [2.5, 3.0]}
    assert list(score.to_json()) == ["eval_bpb", "eval_bytes", "eval_compression"]
    line = EvalRecord(step=4, train_bytes=512, **score.to_json()).to_json()
    assert list(line) == ["kind", "step", "train_bytes", "eval_bpb", "eval_bytes", "eval_compression", "best"]
