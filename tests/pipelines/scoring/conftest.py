"""Fixtures of the scoring tests: tiny models in float64 (independent truth at full precision) and a
random toy genome."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from hnet_bio.checkpoint import load_pretrained
from hnet_bio.lm import HNetLM, IsotropicLM


@pytest.fixture(scope="module", params=["dna", "dna-2stage", "iso-ascii-upper"])
def model64(request: pytest.FixtureRequest, tiny_checkpoints: Mapping[str, Path]) -> HNetLM | IsotropicLM:
    model, _ = load_pretrained(tiny_checkpoints[request.param])
    assert isinstance(model, (HNetLM, IsotropicLM))
    return model.double().eval()


@pytest.fixture(scope="module")
def genome() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    return {"chrA": bases[rng.integers(0, 4, 300)], "chrB": bases[rng.integers(0, 4, 90)]}
