"""What a shipped model's card measures, and on which bytes: one definition for packager and test.

Every number is pretraining's own rule (`pipelines.training.evaluation.evaluate_bpb`): total nats
over all predicted bytes of contiguous, non-overlapping windows of ``seq_len + 1`` bytes, each byte
predicted from context inside its window. The byte sets:

- held-out: the corpus's eval split exactly as pretraining made it (the held-out strains of
  ``dna-bacteria``, the held-out files of ``audio-speech``), an evenly spaced subset of windows;
- absent genus (DNA models): the Leptospira draft genome of ``dna-annotated``, a genus that is in
  no training corpus;
- regression slice: the first `SLICE_WINDOWS` windows of fixed files under ``tests/data``, small
  enough for the default test suite (`tests/pipelines/packaging/test_shipped_models.py` recomputes it).

The classical anchors (order-k Markov, xz, zstd) are measured on exactly the same windows by
`classical_anchors`, the one call into `pipelines.evaluation.anchors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelines.errors import UsageError
from pipelines.evaluation.heldout import anchor_numbers, corpus_windows

SLICE_WINDOWS = 4  # windows per slice file: 8,192 predicted bytes per model, a few seconds on a CPU core

# Fixed files of tests/data per modality. The two DNA files are cut from held-out strains of
# dna-bacteria (MG1655, N315); the speech file is from a *training* file of audio-speech (no
# held-out prompt has a slice in tests/data), so for audio this is a regression check only.
SLICE_FILES: dict[str, tuple[str, ...]] = {
    "dna": ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa"),
    "audio": ("speech_allison_3s.wav",),
}
ABSENT_GENUS_FILE = "test.gbk.gz"  # in dna-annotated: the Leptospira draft genome (GenBank)


@dataclass
class Measurement:
    """bits/byte and bytes per chunk of one model on one set of windows."""

    bits_per_byte: float
    predicted_bytes: int
    windows: int
    bytes_per_chunk: list[float]  # one per stage, outermost first

    def to_json(self) -> dict[str, Any]:
        return {"bits_per_byte": self.bits_per_byte, "predicted_bytes": self.predicted_bytes,
                "windows": self.windows, "bytes_per_chunk": self.bytes_per_chunk}


def measure(model: torch.nn.Module, windows: Sequence[torch.Tensor], batch_size: int = 8) -> Measurement:
    """evaluate_bpb on one process; windows are (seq_len + 1,) uint8 tensors."""
    from pipelines.training.distributed import DistEnv
    from pipelines.training.evaluation import evaluate_bpb

    ev = evaluate_bpb(model, list(windows), DistEnv(), batch_size)
    return Measurement(ev["eval_bpb"], ev["eval_bytes"], len(windows), list(ev["eval_compression"]))


def _windows_of(corpus: Any, seq_len: int, max_windows: int | None) -> list[torch.Tensor]:
    windows = corpus_windows(corpus, seq_len, max_windows)
    if not windows:
        raise UsageError(f"{corpus.spec}: no window of {seq_len + 1} bytes in its {corpus.split} split")
    return windows


def held_out_windows(corpus: str, seq_len: int, max_windows: int | None, eval_fraction: float = 0.05,
                     seed: int = 0, data_dir: str | None = None) -> tuple[list[torch.Tensor], dict[str, Any]]:
    """Windows over the eval split of named ``corpus`` (as pretraining split it) and what they cover."""
    from modalities.corpora import open_corpus

    c = open_corpus(corpus, split="eval", data_dir=data_dir, eval_fraction=eval_fraction, seed=seed)
    windows = _windows_of(c, seq_len, max_windows)
    names = sorted({Path(u.source).name if c.modality == "dna" else u.name for u in c.units})
    return windows, {"corpus": corpus, "split": "eval", "units": names, "split_bytes": c.total_bytes}


def absent_genus_windows(seq_len: int, max_windows: int | None,
                         data_dir: str | None = None) -> tuple[list[torch.Tensor], dict[str, Any]]:
    """Windows over the Leptospira genome of ``dna-annotated`` (every contig at least a window long)."""
    from modalities.corpora import CORPORA, corpus_files, open_corpus

    files = [f for f in corpus_files(CORPORA["dna-annotated"], data_dir) if f.name == ABSENT_GENUS_FILE]
    if not files:
        raise UsageError(f"dna-annotated ({ABSENT_GENUS_FILE}) is not present; run `hnet-bio data fetch` "
                         "(scripts/fetch_data.sh) first")
    c = open_corpus([files[0]], split="all")
    windows = _windows_of(c, seq_len, max_windows)
    return windows, {"corpus": "dna-annotated", "file": ABSENT_GENUS_FILE, "genus": "Leptospira",
                     "records": len(c), "split_bytes": c.total_bytes}


def slice_windows(modality: str, data_dir: str | Path, seq_len: int,
                  sample_rate: int | None = None) -> tuple[list[torch.Tensor], dict[str, Any]]:
    """The regression slice: the first `SLICE_WINDOWS` windows of each of `SLICE_FILES[modality]`."""
    from modalities.audio import DEFAULT_SAMPLE_RATE, encode_file
    from modalities.dna import read_fasta

    windows: list[torch.Tensor] = []
    for name in SLICE_FILES[modality]:
        path = Path(data_dir) / name
        if modality == "dna":
            # streamed (no .fai written next to the fixture), upper-cased like the corpora
            data = np.frombuffer(b"".join(r.seq for r in read_fasta(path)), dtype=np.uint8)
        else:
            data = encode_file(path, sample_rate or DEFAULT_SAMPLE_RATE)  # mu-law bytes
        n = min(SLICE_WINDOWS, data.size // (seq_len + 1))
        if n == 0:
            raise UsageError(f"{path}: shorter than one window of {seq_len + 1} bytes")
        w = seq_len + 1
        windows += [torch.from_numpy(data[i * w:(i + 1) * w].copy()) for i in range(n)]  # (w,) uint8 each
    return windows, {"files": list(SLICE_FILES[modality]), "windows_per_file": SLICE_WINDOWS,
                     "window_bytes": seq_len + 1}


def anchor_functions() -> tuple[Any, Any]:
    """(compressed_bpb, markov_bpb) of `pipelines.evaluation.anchors`, asked for before any work."""
    try:
        import zstandard  # noqa: F401  (compressed_bpb needs it)

        from pipelines.evaluation.anchors import compressed_bpb, markov_bpb
    except ImportError as exc:
        raise UsageError(f"the classical anchors need zstandard ({exc}); "
                         "package with --no-anchors") from None
    return compressed_bpb, markov_bpb


def classical_anchors(train_units: Sequence[np.ndarray], windows: Sequence[torch.Tensor],
                      max_order: int = 12) -> dict[str, Any]:
    """Best order-k Markov model (counted on ``train_units``), xz and zstd, in bits/byte, on the
    predicted bytes of ``windows`` (``w[1:]`` of each window, context inside the window).

    The one place packaging calls `pipelines.evaluation.anchors` (the compare work): point it elsewhere here.
    """
    anchor_functions()  # one clear line if pipelines.evaluation.anchors or zstandard is missing
    found = anchor_numbers(list(train_units), list(windows), max_order)  # what `hnet-bio evaluate` reports
    markov = found["markov"]
    return {"markov_best_order": markov["best_order"], "markov": markov["best_bpb"],
            "markov_by_order": markov["bpb_by_order"], "xz": found["xz"], "zstd": found["zstd"]}
