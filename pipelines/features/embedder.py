"""`HNetEmbedder`: a checkpoint's pooled hidden states as a scikit-learn transformer.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    pipe = make_pipeline(HNetEmbedder("runs/x"), StandardScaler(), LogisticRegression())  # its best
    cross_val_score(pipe, ["ACGT...", "TTGA...", ...], labels, cv=5)

X is a list of sequences: DNA as str/bytes (upper-cased unless the checkpoint keeps soft-masking),
audio as uint8 mu-law arrays or float waveforms in [-1, 1] at the checkpoint's sample rate (mu-law
encoded here). Nothing is learned in `fit`: it loads the checkpoint, so the transformer is a fixed
feature map and `clone` gives an unfitted copy that reloads it. Parameters are plain values
(a path, names, ints), as scikit-learn's get_params/set_params/clone require.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from hnet_bio.checkpoint import load_pretrained
from modalities.audio import mu_law_encode
from pipelines.analysis import DEFAULT_STRIDE, DEFAULT_WINDOW, hidden_levels, num_stages
from pipelines.features.embedding import (
    DEFAULT_LEVEL,
    DEFAULT_POOLING,
    POOLINGS,
    embed_sequences,
    level_width,
    stack,
)
from pipelines.runs.resolve import resolve_checkpoint


class HNetEmbedder(TransformerMixin, BaseEstimator):
    """One vector per sequence: hidden states of ``level`` pooled by ``pooling`` (features/embedding.py)."""

    def __init__(
        self,
        checkpoint: str | None = None,
        level: str = DEFAULT_LEVEL,
        pooling: str = DEFAULT_POOLING,
        window: int = DEFAULT_WINDOW,
        stride: int = DEFAULT_STRIDE,
        batch_size: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.checkpoint = checkpoint
        self.level = level
        self.pooling = pooling
        self.window = window
        self.stride = stride
        self.batch_size = batch_size
        self.threads = threads

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    def fit(self, X: Sequence[Any] | None = None, y: Any = None) -> HNetEmbedder:
        """Load the checkpoint (nothing is learned from X): a checkpoint or run directory,
        RUN@last|@STEP or a shipped model's name, as every ``--checkpoint`` option takes."""
        if self.checkpoint is None:
            raise ValueError("HNetEmbedder needs checkpoint= (a checkpoint directory, run or shipped model)")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        model, meta = load_pretrained(resolve_checkpoint(self.checkpoint).path)
        levels = hidden_levels(num_stages(model))
        if self.level not in levels:
            choices = ", ".join(levels)
            raise ValueError(f"unknown level {self.level!r} for this model; choose one of {choices}")
        self.model_ = model
        self.modality_ = meta.modality
        self.soft_mask_ = meta.soft_mask
        self.n_features_out_ = level_width(model, self.level)
        return self

    def _to_bytes(self, x: Any) -> np.ndarray:
        if self.modality_ == "audio":
            arr = np.asarray(x)
            if arr.dtype == np.uint8:
                return arr.ravel()
            return mu_law_encode(arr.astype(np.float32).ravel())
        if isinstance(x, np.ndarray):
            x = x.tobytes() if x.dtype == np.uint8 else str(x.item() if x.ndim == 0 else x)
        if isinstance(x, str):
            x = x.encode("ascii")
        if not isinstance(x, (bytes, bytearray)):
            raise TypeError(f"HNetEmbedder takes DNA as str or bytes, got {type(x).__name__}")
        data = bytes(x) if self.soft_mask_ else bytes(x).upper()
        return np.frombuffer(data, dtype=np.uint8)

    def transform(self, X: Sequence[Any]) -> np.ndarray:
        """(n_sequences, D) float32 embeddings."""
        check_is_fitted(self, "model_")
        if isinstance(X, (str, bytes)):
            raise TypeError("X must be a list of sequences, not a single sequence")
        seqs = [self._to_bytes(x) for x in X]
        if not seqs:
            return np.zeros((0, self.n_features_out_), dtype=np.float32)
        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            out = embed_sequences(self.model_, seqs, self.level, self.pooling, window=self.window,
                                  stride=self.stride, batch_size=self.batch_size)
            return stack(v for *_, v in out)
        finally:
            torch.set_num_threads(previous)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "model_")
        names = [f"hnet_{self.level}_{self.pooling}{i}" for i in range(self.n_features_out_)]
        return np.array(names, dtype=object)
