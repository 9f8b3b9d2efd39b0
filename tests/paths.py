"""Where the test suite finds the repository, its configs and its data (one definition)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CONFIGS = ROOT / "configs"
REFERENCE = DATA / "reference"
