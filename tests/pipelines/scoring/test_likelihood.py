"""Per-position log-likelihoods against a by-hand float64 forward of each row alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hnet_bio.lm import HNetLM, IsotropicLM
from pipelines.scoring.likelihood import reverse_complement, row_log_probs, sequence_track


def _by_hand(model: HNetLM | IsotropicLM, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = torch.from_numpy(row.copy()).long()[None]
    with torch.no_grad():
        logp = torch.log_softmax(model(x).logits[0, :-1].double(), -1)
    lp = logp[torch.arange(row.size - 1), x[0, 1:]] / math.log(2)
    ent = -(logp.exp() * logp).sum(-1) / math.log(2)
    return lp.numpy(), ent.numpy()


@pytest.mark.parametrize("workers", [1, 2])
def test_rows_of_mixed_lengths_match_single_forwards(
    model64: HNetLM | IsotropicLM, genome: dict[str, np.ndarray], workers: int
) -> None:
    """In this process, and in two worker processes (the float64 model rebuilt there)."""
    seq = genome["chrA"]
    rows = [seq[:40], seq[5:6], seq[10:90], seq[100:133]]
    got = row_log_probs(model64, rows, batch_size=3, entropy=True, workers=workers)
    for row, g in zip(rows, got):
        lp, ent = _by_hand(model64, row)
        assert g.log_prob.shape == (row.size - 1,)
        np.testing.assert_allclose(g.log_prob, lp, atol=1e-10)
        assert g.entropy is not None
        np.testing.assert_allclose(g.entropy, ent, atol=1e-10)
        assert (g.log_prob <= 0).all() and (g.entropy >= 0).all()


def test_track_takes_each_byte_from_its_most_context_window(
    model64: HNetLM | IsotropicLM, genome: dict[str, np.ndarray]
) -> None:
    seq = genome["chrA"][:130]
    track = sequence_track(model64, seq, window=64, stride=48)
    assert math.isnan(track.log_prob[0]) and not np.isnan(track.log_prob[1:]).any()
    lp0, _ = _by_hand(model64, seq[:64])
    np.testing.assert_allclose(track.log_prob[1:64], lp0, atol=1e-10)
    lp1, _ = _by_hand(model64, seq[48:112])  # window 1 reports bytes [64, 112)
    np.testing.assert_allclose(track.log_prob[64:112], lp1[64 - 49 :], atol=1e-10)
    whole = sequence_track(model64, seq, window=130, stride=130)
    np.testing.assert_allclose(whole.log_prob[1:], _by_hand(model64, seq)[0], atol=1e-10)
    assert whole.total == pytest.approx(float(_by_hand(model64, seq)[0].sum()))


def test_reverse_complement() -> None:
    row = np.frombuffer(b"AACGTN", dtype=np.uint8)
    assert reverse_complement(row).tobytes() == b"NACGTT"
