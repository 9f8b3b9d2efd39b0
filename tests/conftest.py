"""Shared fixtures: paths to configs and test data, and a deterministic torch setup."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.paths import CONFIGS, DATA

# Tiny test models gain nothing from intra-op threads, and OpenMP spin-waiting makes them crawl
# when the two cores are shared with anything else.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_and_threads() -> object:
    """Every test starts from seed 0 and one thread, whatever the previous test (or a CLI
    `--threads` option it ran in-process) set."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture
def configs_dir() -> Path:
    return CONFIGS


@pytest.fixture
def data_dir() -> Path:
    return DATA
