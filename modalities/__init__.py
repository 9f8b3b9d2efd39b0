"""File <-> bytes for DNA and audio, plus training/evaluation windows over named corpora.

Submodules: :mod:`dna`, :mod:`audio` (codecs), :mod:`corpora` (named corpora, splits, cache),
:mod:`datasets` (windows), :mod:`errors` (typed input errors). The names below are resolved
lazily so that ``import modalities.errors`` (done by the CLI's error handler) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "open_corpus": "corpora", "list_corpora": "corpora", "CORPORA": "corpora", "Corpus": "corpora",
    "RandomWindows": "datasets", "EvalWindows": "datasets",
    "InputError": "errors", "FastaFormatError": "errors", "RegionError": "errors",
    "AudioFormatError": "errors", "CorpusError": "errors", "MissingInputError": "errors",
    "AnnotationError": "errors",
}
_SUBMODULES = {"audio", "dna", "corpora", "datasets", "errors", "regions", "splits", "cache", "seqio"}

__all__ = sorted([*_EXPORTS, "audio", "dna"])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"modalities.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"modalities.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'modalities' has no attribute {name!r}")
