"""Shared fixtures, one per thing: paths, a deterministic torch set-up, tiny checkpoints on disk and a
private corpus cache."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from hnet_bio.checkpoint import save_pretrained
from hnet_bio.config import HNetConfig
from hnet_bio.lm import HNetLM, IsotropicLM, build_model
from tests.paths import CONFIGS, DATA

# Tiny test models gain nothing from intra-op threads, and OpenMP spin-waiting makes them crawl
# when the two cores are shared with anything else.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_and_threads() -> Iterator[None]:
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


# --------------------------------------------------------------------------- the corpus cache

@pytest.fixture
def cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HNET_BIO_CACHE pointed at one cache for the whole session, never the user's own.

    Shared rather than fresh per test: a corpus converted to its byte cache once (the embedded
    1.6 Mb genome takes a while) is reused by every later test that reads it. A test about the
    cache's own life cycle makes its own directory instead. Modules that read corpora use it with
    ``pytestmark = pytest.mark.usefixtures("cache_dir")``.
    """
    path = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("HNET_BIO_CACHE", str(path))
    return path


# --------------------------------------------------------------------------- tiny checkpoints

DNA_META: dict[str, Any] = {"modality": "dna", "byte_convention": "ascii-upper"}
AUDIO_META: dict[str, Any] = {"modality": "audio", "byte_convention": "mulaw-8bit", "sample_rate": 8000}


@dataclass(frozen=True)
class Tiny:
    """One tiny random model saved as a checkpoint: ``configs/{config}.json``, drawn from ``seed``
    after the models of ``drawn_after`` were drawn from the same seed, saved with ``metadata``.

    ``drawn_after`` keeps the exact weights each test was written against (several test modules
    built their models one after another from one seed), so their assertions hold unchanged.
    """

    config: str
    metadata: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    drawn_after: tuple[str, ...] = ()

    def build(self) -> HNetLM | IsotropicLM:
        """The model, without disturbing the caller's random state."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            for config in self.drawn_after:
                _model(config)
            return _model(self.config)


def _model(config: str) -> HNetLM | IsotropicLM:
    return build_model(HNetConfig.from_json(CONFIGS / f"{config}.json"))


# Every tiny checkpoint the suite uses, by name; equal weights with different metadata are
# different entries (each test reads the metadata it was written for).
TINY: dict[str, Tiny] = {
    # DNA, one stage, seed 0: the everyday DNA checkpoint.
    "dna": Tiny("tiny-1stage", DNA_META),
    "dna-step0": Tiny("tiny-1stage", {**DNA_META, "step": 0}),
    "dna-train-bytes-7": Tiny("tiny-1stage", {**DNA_META, "train_bytes": 7}),
    "dna-seed1": Tiny("tiny-1stage", DNA_META, seed=1),  # a second model to compare against "dna"
    # DNA, two stages.
    "dna-2stage": Tiny("tiny-2stage", DNA_META),
    "dna-2stage-seed2": Tiny("tiny-2stage", DNA_META, seed=2),
    "dna-2stage-untrained": Tiny("tiny-2stage", {**DNA_META, "train_bytes": 0}),
    # Audio (mu-law bytes at 8 kHz).
    "audio": Tiny("tiny-1stage", AUDIO_META),
    "audio-after-iso": Tiny("tiny-1stage", AUDIO_META, drawn_after=("tiny-1stage", "tiny-isotropic")),
    "audio-after-2stage-iso": Tiny("tiny-1stage", AUDIO_META, drawn_after=("tiny-2stage", "tiny-isotropic")),
    "audio-2stage-untrained": Tiny("tiny-2stage", {**AUDIO_META, "train_bytes": 0}),
    # The isotropic baseline (no boundaries).
    "iso": Tiny("tiny-isotropic", {"modality": "dna"}, drawn_after=("tiny-1stage",)),
    "iso-ascii-upper": Tiny("tiny-isotropic", DNA_META, drawn_after=("tiny-1stage",)),
    "iso-after-2stage": Tiny("tiny-isotropic", {"modality": "dna"}, drawn_after=("tiny-2stage",)),
}


class TinyCheckpoints(Mapping[str, Path]):
    """Name -> checkpoint directory of the `TINY` models, each written the first time it is asked
    for and then shared by the whole session (most modules use a few of them; writing all for
    each would cost more than it saves). Tests only read them; a test that changes a checkpoint
    copies it first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._written: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._written:
            path = self.root / name
            save_pretrained(TINY[name].build(), path, TINY[name].metadata)
            self._written[name] = path
        return self._written[name]

    def __iter__(self) -> Iterator[str]:
        return iter(TINY)

    def __len__(self) -> int:
        return len(TINY)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, Path]:
    """``tiny_checkpoints["dna"]`` is the directory of the tiny DNA checkpoint (names: `TINY`)."""
    return TinyCheckpoints(tmp_path_factory.mktemp("tiny-checkpoints"))
