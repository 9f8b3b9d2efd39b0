"""The Markov anchor of `hnet-bio evaluate`, cached as `compare` caches its anchors.

Counting an order-12 model on a training split is most of a DNA evaluation (35-55 s on the
bacterial corpus), and it comes out the same every time the same windows are scored against the
same training bytes: evaluating several checkpoints of one run, or one checkpoint again. The result
is stored under the project cache (``$HNET_BIO_CACHE/anchors/``, see `modalities.cache.cache_root`)
keyed by a digest of the *contents* (the training units, the predicted windows, the orders), so a
changed file or split can never be served a stale number, and nothing depends on paths or times.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hnet_bio.atomic import atomic_write_json
from modalities.cache import cache_root
from pipelines.evaluation.anchors import MarkovResult, markov_bpb

VERSION = 1  # bump when the Markov model's definition changes


def anchor_key(train_units: Sequence[np.ndarray], windows: Sequence[np.ndarray], max_order: int) -> str:
    """A digest of everything the Markov numbers depend on (unit boundaries included)."""
    h = hashlib.sha256(f"markov-v{VERSION}-k{max_order}".encode())
    for group in (train_units, windows):
        h.update(f"|{len(group)}|".encode())
        for a in group:
            arr = np.ascontiguousarray(a, dtype=np.uint8)
            h.update(arr.size.to_bytes(8, "little"))
            h.update(arr.tobytes())
    return h.hexdigest()[:32]


def cache_path(key: str) -> Path:
    return cache_root() / "anchors" / f"markov-{key}.json"


def cached_markov(train: Callable[[], list[np.ndarray]], windows: Sequence[np.ndarray], max_order: int,
                  ) -> tuple[MarkovResult, bool]:
    """(Markov anchor, whether it came from the cache). ``train`` reads the training units (cheap:
    memory-mapped cache bins); only the counting is saved."""
    units = train()
    path = cache_path(anchor_key(units, windows, max_order))
    if path.is_file():
        try:
            return MarkovResult.from_json(json.loads(path.read_text())["markov"]), True
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache file: count again and replace it
    result = markov_bpb(units, windows, max_order)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"markov": result.to_json()})
    return result, False
