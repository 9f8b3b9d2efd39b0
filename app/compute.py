"""Models and results, computed once: models per checkpoint (`st.cache_resource`), analyses per
(checkpoint, input, page) in a small LRU shared by the sessions of this server, so paging back
and forth or re-running the page never recomputes what was seen.

A page is analysed with up to `CONTEXT` bytes before it (the analysis path's default left
context, window - stride), so its boundaries are those the whole input would get, to within the
windowing tolerance measured in docs/analysis.md. Pages up to `SINGLE_CALL` bytes go through the
model in one call (no overlap to recompute); longer inputs use the analysis defaults.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from app.access import allowed_checkpoint
from hnet_bio.checkpoint import WEIGHTS_FILE, load_pretrained
from hnet_bio.lm import HNetLM
from hnet_bio.metadata import CheckpointMetadata
from pipelines.analysis import DEFAULT_STRIDE, DEFAULT_WINDOW, Analysis, analyze
from pipelines.errors import CheckpointError
from pipelines.runs.resolve import resolve_checkpoint

CONTEXT = DEFAULT_WINDOW - DEFAULT_STRIDE
SINGLE_CALL = 24_576
WHOLE = -1  # page length meaning "the whole input"


@dataclass
class Loaded:
    """A checkpoint ready to run: its model, metadata, a cache key and the name the user gave it."""

    model: HNetLM
    meta: CheckpointMetadata
    key: str
    label: str

    @property
    def modality(self) -> str:
        return self.meta.modality


@st.cache_resource(show_spinner=False, max_entries=6)
def _load(resolved: str, stamp: float) -> tuple[torch.nn.Module, CheckpointMetadata]:
    return load_pretrained(resolved)


def load_checkpoint(spec: str) -> Loaded:
    """The checkpoint the user named (`pipelines.runs.resolve`, as every ``--checkpoint`` option),
    loaded once per server and again when its weights change."""
    resolved = str(resolve_checkpoint(allowed_checkpoint(spec)).path)
    weights = Path(resolved) / WEIGHTS_FILE
    stamp = weights.stat().st_mtime if weights.exists() else 0.0
    model, meta = _load(resolved, stamp)
    if not isinstance(model, HNetLM):
        raise CheckpointError(f"{spec}: an isotropic model has no boundaries to browse")
    return Loaded(model, meta, f"{os.path.abspath(resolved)}@{stamp}", spec)


@dataclass
class ResultCache:
    """LRU of analyses keyed by (checkpoint key, input key, start, length); counts real computations.

    Shared by every session of the server (their scripts run in threads at once), so it is locked;
    a result being computed for one session is waited for, not computed again, by the others, and
    model calls run one at a time (each uses torch's threads; memory stays that of one call).
    """

    capacity: int = 64
    computed: int = 0
    entries: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    model_lock: threading.Lock = field(default_factory=threading.Lock)
    pending: dict[tuple, threading.Lock] = field(default_factory=dict)

    def get(self, key: tuple) -> Analysis | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
            return hit

    def put(self, key: tuple, value: Analysis) -> None:
        with self.lock:
            self.computed += 1
            self.entries[key] = value
            while len(self.entries) > self.capacity:
                self.entries.popitem(last=False)

    def get_or_compute(self, key: tuple, compute: Callable[[], Analysis]) -> Analysis:
        """The cached result of ``key``, else ``compute()`` run once however many sessions ask."""
        hit = self.get(key)
        if hit is not None:
            return hit
        with self.lock:
            key_lock = self.pending.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.get(key)  # computed by the session we waited for
            if hit is not None:
                return hit
            try:
                with self.model_lock:
                    value = compute()
                self.put(key, value)
            finally:
                with self.lock:
                    self.pending.pop(key, None)
        return value


@st.cache_resource(show_spinner=False)
def result_cache() -> ResultCache:
    return ResultCache()


def crop(a: Analysis, lo: int) -> Analysis:
    """The analysis of bytes [lo, length): the context before a page dropped."""
    if lo == 0:
        return a
    ci = a.chunk_index[:, lo:]
    return replace(a, length=a.length - lo, boundary_prob=a.boundary_prob[:, lo:],
                   boundary=a.boundary[:, lo:], chunk_index=ci - ci[:, :1], hidden={}, hidden_positions={})


def page_analysis(
    ckpt: Loaded, data: np.ndarray, source_key: str, start: int, length: int,
    progress: Callable[[int, int], None] | None = None,
) -> Analysis:
    """Boundaries of bytes [start, start + length) of ``data`` (length WHOLE: all of it), cached."""
    key = (ckpt.key, source_key, start, length)

    def compute() -> Analysis:
        if length == WHOLE:
            return analyze(ckpt.model, data, window=DEFAULT_WINDOW, stride=DEFAULT_STRIDE, progress=progress)
        lo = max(0, start - CONTEXT)
        piece = data[lo : start + length]
        window = piece.size if piece.size <= SINGLE_CALL else DEFAULT_WINDOW
        stride = piece.size if piece.size <= SINGLE_CALL else DEFAULT_STRIDE
        return crop(analyze(ckpt.model, piece, window=window, stride=stride, progress=progress), start - lo)

    return result_cache().get_or_compute(key, compute)


def with_progress(label: str) -> tuple[Callable[[int, int], None], Callable[[], object]]:
    """A progress bar for a model run: (callback(done, total), close)."""
    bar = st.progress(0.0, text=label)

    def update(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{label}: {done:,} of {total:,} bytes")

    return update, bar.empty
