"""What a shipped model's card measures, and on which bytes: one definition for packager and test.

Every number is pretraining's own rule (`pipelines.training.evaluation.evaluate_bpb`): total nats
over all predicted bytes of contiguous, non-overlapping windows of ``seq_len + 1`` bytes, each byte
predicted from context inside its window. The byte sets:

- held-out: the corpus's eval split exactly as pretraining made it (the held-out strains of
  ``dna-bacteria``, the held-out files of ``audio-speech``), an evenly spaced subset of windows;
- held-out strains (a corpus that holds out a whole genus, ``dna-bacteria-genus``): the files it
  neither trains nor evaluates on, the sister strains of the trained species;
- absent genus (DNA models): the Leptospira draft genome of ``dna-annotated``, a genus that is in
  no training corpus;
- regression slice: the first `SLICE_WINDOWS` windows of fixed files under ``tests/data``, small
  enough for the default test suite (`tests/pipelines/packaging/test_shipped_models.py` recomputes it).

The classical anchors (order-k Markov, xz, zstd) are measured on exactly the same windows by
`classical_anchors`, through `pipelines.evaluation.heldout.anchor_numbers` (what `hnet-bio evaluate`
reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from modalities.audio import DEFAULT_SAMPLE_RATE, encode_file
from modalities.corpora import CORPORA, Corpus, corpus_files, held_group_of, open_corpus
from modalities.dna import read_fasta
from pipelines.errors import UsageError
from pipelines.evaluation.heldout import anchor_numbers_sets, corpus_windows, training_units
from pipelines.packaging.card_facts import (
    AnchorFacts,
    Coverage,
    EvaluationFacts,
    MeasuredSet,
    Measurement,
    RegressionSlice,
    SliceCoverage,
)
from pipelines.packaging.provenance import PackageSource
from pipelines.training.distributed import DistEnv
from pipelines.training.evaluation import evaluate_bpb

SLICE_WINDOWS = 4  # windows per slice file: 8,192 predicted bytes per model, a few seconds on a CPU core

# Fixed files of tests/data per modality. The two DNA files are cut from held-out strains of
# dna-bacteria (MG1655, N315); the speech file is from a *training* file of audio-speech (no
# held-out prompt has a slice in tests/data), so for audio this is a regression check only.
SLICE_FILES: dict[str, tuple[str, ...]] = {
    "dna": ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa"),
    "audio": ("speech_allison_3s.wav",),
}
ABSENT_GENUS_FILE = "test.gbk.gz"  # in dna-annotated: the Leptospira draft genome (GenBank)
RULE = ("Bits per byte = total cross-entropy over all predicted bytes / their number / ln 2 "
        "(`pipelines.training.evaluation.evaluate_bpb`, as in pretraining); for DNA one byte is one base. "
        "The anchors are measured on exactly the same predicted bytes; the Markov model is counted on the "
        "model's own training split")


@dataclass(frozen=True)
class MeasurePlan:
    """How much a card measures: evenly spaced held-out windows, absent-genus windows (DNA; 0: none),
    the batch size, and the classical anchors up to Markov order ``max_order`` (or none)."""

    eval_windows: int = 512
    absent_windows: int = 512
    batch_size: int = 8
    max_order: int = 12
    anchors: bool = True


def measure(model: torch.nn.Module, windows: Sequence[torch.Tensor], batch_size: int = 8) -> Measurement:
    """evaluate_bpb on one process; windows are (seq_len + 1,) uint8 tensors."""
    ev = evaluate_bpb(model, list(windows), DistEnv(), batch_size)
    return Measurement(ev.bits_per_byte, ev.predicted_bytes, len(windows), list(ev.bytes_per_chunk))


def _windows_of(corpus: Any, seq_len: int, max_windows: int | None) -> list[torch.Tensor]:
    windows = corpus_windows(corpus, seq_len, max_windows)
    if not windows:
        raise UsageError(f"{corpus.spec}: no window of {seq_len + 1} bytes in its {corpus.split} split")
    return windows


def held_out_windows(corpus: str, seq_len: int, max_windows: int | None, eval_fraction: float = 0.05,
                     seed: int = 0, data_dir: str | None = None) -> tuple[list[torch.Tensor], Coverage]:
    """Windows over the eval split of named ``corpus`` (as pretraining split it) and what they cover."""
    c = open_corpus(corpus, split="eval", data_dir=data_dir, eval_fraction=eval_fraction, seed=seed)
    windows = _windows_of(c, seq_len, max_windows)
    names = sorted({Path(u.source).name if c.modality == "dna" else u.name for u in c.units})
    return windows, Coverage(corpus=corpus, split="eval", units=names, split_bytes=c.total_bytes)


def held_out_strain_windows(corpus: str, seq_len: int, max_windows: int | None, eval_fraction: float = 0.05,
                            seed: int = 0, data_dir: str | None = None
                            ) -> tuple[list[torch.Tensor], Coverage] | None:
    """For a corpus that holds out a whole genus: windows over the files it neither trains nor
    evaluates on (the sister strains of the trained species, held out so that a model trained on it
    is tested on both). None for any other corpus."""
    if not held_group_of(corpus):
        return None
    parts = {split: open_corpus(corpus, split=split, data_dir=data_dir, eval_fraction=eval_fraction,
                                seed=seed) for split in ("all", "train", "eval")}
    used = {u.source for split in ("train", "eval") for u in parts[split].units}
    every = parts["all"]
    c = Corpus([u for u in every.units if u.source not in used], every.modality, every.sample_rate,
               every.spec, "held-out strains", every.source)
    windows = _windows_of(c, seq_len, max_windows)
    names = sorted({Path(u.source).name for u in c.units})
    return windows, Coverage(corpus=corpus, split=c.split, units=names, split_bytes=c.total_bytes)


def absent_genus_windows(seq_len: int, max_windows: int | None,
                         data_dir: str | None = None) -> tuple[list[torch.Tensor], Coverage]:
    """Windows over the Leptospira genome of ``dna-annotated`` (every contig at least a window long)."""
    files = [f for f in corpus_files(CORPORA["dna-annotated"], data_dir) if f.name == ABSENT_GENUS_FILE]
    if not files:
        raise UsageError(f"dna-annotated ({ABSENT_GENUS_FILE}) is not present; run `hnet-bio data fetch` "
                         "(scripts/fetch_data.sh) first")
    c = open_corpus([files[0]], split="all")
    windows = _windows_of(c, seq_len, max_windows)
    return windows, Coverage(corpus="dna-annotated", file=ABSENT_GENUS_FILE, genus="Leptospira",
                             records=len(c), split_bytes=c.total_bytes)


def slice_windows(modality: str, data_dir: str | Path, seq_len: int,
                  sample_rate: int | None = None) -> tuple[list[torch.Tensor], SliceCoverage]:
    """The regression slice: the first `SLICE_WINDOWS` windows of each of `SLICE_FILES[modality]`."""
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
    return windows, SliceCoverage(files=list(SLICE_FILES[modality]), windows_per_file=SLICE_WINDOWS,
                                  window_bytes=seq_len + 1)


def classical_anchors(train_units: Sequence[np.ndarray], windows: Sequence[torch.Tensor],
                      max_order: int = 12) -> AnchorFacts:
    """Best order-k Markov model (counted on ``train_units``), xz and zstd, in bits/byte, on the
    predicted bytes of ``windows`` (``w[1:]`` of each window, context inside the window): the
    numbers `hnet-bio evaluate` reports, as a card states them."""
    return classical_anchor_sets(train_units, [windows], max_order)[0]


def classical_anchor_sets(train_units: Sequence[np.ndarray], sets: Sequence[Sequence[torch.Tensor]],
                          max_order: int = 12) -> list[AnchorFacts]:
    """`classical_anchors` of several sets of windows, the Markov model counted once for all."""
    found = anchor_numbers_sets(list(train_units), [list(ws) for ws in sets], max_order)
    return [AnchorFacts(markov_best_order=f.markov.best_order, markov=f.markov.best_bpb,
                        markov_by_order=f.markov.bpb_by_order, xz=f.xz, zstd=f.zstd) for f in found]


# --------------------------------------------------------------------------- a card's numbers

@dataclass(frozen=True)
class _Set:
    """One set of windows a card measures, before measuring: what it is and which bytes."""

    what: str
    coverage: Coverage
    windows: list[torch.Tensor]


def _measured_sets(model: torch.nn.Module, sets: list[_Set], train_units: list[np.ndarray] | None,
                   max_order: int, batch_size: int, say: TextIO | None) -> list[MeasuredSet]:
    """bits/byte and bytes per chunk of ``model`` on each set, and the anchors on the same bytes."""
    found = []
    for one in sets:
        m = measure(model, one.windows, batch_size)
        if say:
            say.write(f"package:   {m.bits_per_byte:.4f} bits/byte, bytes/chunk {m.bytes_per_chunk} "
                      f"({one.coverage.split or one.coverage.file})\n")
        found.append(m)
    anchors: list[AnchorFacts | None] = [None] * len(sets)
    if train_units is not None:
        if say:
            say.write(f"package: classical anchors (Markov up to order {max_order}, xz, zstd)\n")
        counted = classical_anchor_sets(train_units, [one.windows for one in sets], max_order)
        for a in counted:
            if say:
                say.write(f"package:   anchors: Markov order {a.markov_best_order} {a.markov:.4f}, "
                          f"xz {a.xz:.4f}, zstd {a.zstd:.4f}\n")
        anchors = list(counted)
    return [MeasuredSet.of(one.what, one.coverage, m, int(one.windows[0].numel()), a)
            for one, m, a in zip(sets, found, anchors, strict=True)]


def card_evaluation(model: torch.nn.Module, source: PackageSource, plan: MeasurePlan,
                    say: TextIO | None = None) -> EvaluationFacts:
    """The card's held-out numbers of ``model`` (the shipped weights): the held-out split of the
    run's corpus, for a corpus holding out a genus its held-out strains too and, for DNA, the
    absent genus; with the anchors unless ``plan.anchors`` is off."""
    corpus, cfg, dna = source.corpus, source.config, source.metadata.modality == "dna"
    seq_len, eval_fraction = cfg.train.seq_len, cfg.data.eval_fraction
    seed = cfg.data.split_seed_for(cfg.train.seed)
    # The Markov anchor sees what the model saw: with reverse-complement augmentation, both strands.
    rc = cfg.train.rc_augment
    train_units = training_units(corpus, eval_fraction, seed, rc=rc) if plan.anchors else None
    rule = RULE + (" and its reverse complement (the model trained on both strands)." if rc and dna else ".")
    if say:
        say.write(f"package: held-out split of {corpus} (up to {plan.eval_windows} windows)\n")
    windows, coverage = held_out_windows(corpus, seq_len, plan.eval_windows, eval_fraction, seed)
    genus = held_group_of(corpus)
    kind = f"genus {genus} (every genome of it)" if genus else ("strains" if dna else "files")
    sets = [_Set(f"The held-out {kind} of `{corpus}` (the eval split of pretraining): "
                 f"{_subset(windows, plan)} its windows (a tail shorter than a window is left out).",
                 coverage, windows)]
    found = held_out_strain_windows(corpus, seq_len, plan.eval_windows, eval_fraction, seed)
    if found is not None:
        windows, coverage = found
        sets.append(_Set(f"The held-out strains of the genera `{corpus}` trains on (one genome per "
                         f"species, as in `dna-bacteria`'s split; never trained on): "
                         f"{_subset(windows, plan)} their windows.", coverage, windows))
    if dna and plan.absent_windows > 0:
        windows, coverage = absent_genus_windows(seq_len, plan.absent_windows)
        sets.append(_Set("The Leptospira draft genome of `dna-annotated` (any2fasta-examples, test.gbk.gz): "
                         "a genus in no training corpus.", coverage, windows))
    absent = dna and plan.absent_windows > 0
    measured = _measured_sets(model, sets, train_units, plan.max_order, plan.batch_size, say)
    note = None if plan.anchors else "The classical anchors were not measured for this card."
    return EvaluationFacts(rule=rule, held_out=measured[0], absent_genus=measured[-1] if absent else None,
                           anchor_note=note, held_out_strains=measured[1] if found is not None else None)


def _subset(windows: list[torch.Tensor], plan: MeasurePlan) -> str:
    return "an evenly spaced subset of" if len(windows) >= plan.eval_windows else "all"


def card_regression_slice(shipped: torch.nn.Module, fp32: torch.nn.Module, source: PackageSource,
                          data_dir: Path, batch_size: int = 8) -> RegressionSlice:
    """The regression slice measured with the shipped weights and with the float32 checkpoint (what
    bf16 storage costs)."""
    meta = source.metadata
    windows, coverage = slice_windows(meta.modality, data_dir, source.config.train.seq_len, meta.sample_rate)
    return RegressionSlice.of(coverage, measure(shipped, windows, batch_size),
                              measure(fp32, windows, batch_size))
