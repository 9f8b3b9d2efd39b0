"""Shared fixtures: paths to configs and test data, and a deterministic torch setup."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CONFIGS = ROOT / "configs"

# Tiny test models gain nothing from intra-op threads, and OpenMP spin-waiting makes them crawl
# when the two cores are shared with anything else.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def configs_dir() -> Path:
    return CONFIGS


@pytest.fixture
def data_dir() -> Path:
    return DATA
