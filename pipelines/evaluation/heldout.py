"""Held-out evaluation of one checkpoint: the windows, the number, the classical anchors beside it.

The number is pretraining's own (`pipelines.training.evaluation.evaluate_bpb`): total nats over
all predicted bytes of contiguous non-overlapping windows of ``seq_len + 1`` bytes, each byte
predicted from context inside its window. The classical anchors (`pipelines.evaluation.anchors`)
are measured on exactly the same predicted bytes. `hnet-bio evaluate`, `compare` and `package`
all evaluate through here.
"""


from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from hnet_bio.checkpoint import load_pretrained, read_metadata
from modalities.corpora import open_corpus
from modalities.datasets import EvalWindows, reverse_complement_array
from modalities.splits import Unit
from pipelines.analysis.progress import maybe_bar
from pipelines.errors import UsageError
from pipelines.evaluation.anchor_cache import cached_markov
from pipelines.evaluation.anchors import compressed_bpb, markov_bpb_sets
from pipelines.evaluation.result import AnchorNumbers, EvaluationResult
from pipelines.evaluation.scope import SPLITS, choose_split, record_starts, used_spans
from pipelines.inputs import read_dna_region, resolve_device
from pipelines.runs.resolve import resolve_checkpoint
from pipelines.runs.run_dir import RunDir
from pipelines.training.distributed import DistEnv
from pipelines.training.evaluation import evaluate_bpb
from pipelines.training.train_config import PretrainConfig, from_dict


@dataclass
class _Units:
    """The two things `EvalWindows` reads (``lengths``, ``read``) over in-memory byte strings, and
    what they are (``units``: record, file and the region's first base as ``offset``)."""

    arrays: list[np.ndarray]
    units: list[Unit]

    @property
    def lengths(self) -> list[int]:
        return [a.size for a in self.arrays]

    def read(self, i: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        return self.arrays[i][start:stop].copy()


def recorded_recipe(checkpoint: Path) -> PretrainConfig | None:
    """The pretraining recipe saved with a checkpoint: its run's (RUN/checkpoints/step-N), or the one
    a shipped model carries in its own directory; None when there is none."""
    for run in (RunDir(checkpoint.parent.parent), RunDir(checkpoint)):
        if run.config_path.is_file():
            return from_dict(run.read_config())
    return None


def corpus_spec(data: str | list[str]) -> str | list[str]:
    """One corpus name or file as a string, several files as a list (what `open_corpus` takes)."""
    return data[0] if isinstance(data, list) and len(data) == 1 else data


def _region_units(data: str | list[str], regions: list[str]) -> _Units:
    """The bytes of each DNA ``chr:start-end`` region, read from the first file holding the record
    (named as the user likes: `pipelines.inputs.read_dna_region` resolves aliases)."""
    files = [data] if isinstance(data, str) else list(data)
    arrays, units = [], []
    for region in regions:
        found, seq, f = read_dna_region(files, region)
        arrays.append(np.frombuffer(seq, dtype=np.uint8))
        units.append(Unit(found.chrom, f, "", found.start0, len(seq)))
    return _Units(arrays, units)


def held_out_windows(data: str | list[str], seq_len: int, split: str = "eval",
                     regions: list[str] | None = None, eval_fraction: float = 0.05, seed: int = 0,
                     max_windows: int | None = None,
                     data_dir: str | None = None) -> tuple[list[torch.Tensor], str]:
    """The evaluation windows ((seq_len + 1,) uint8 each) and the modality of ``data``.

    regions: DNA ``chr:start-end`` strings read from the given files (the first file holding the
    record); the windows then tile just those regions and ``split`` is ignored.
    """
    source, modality, _ = _open_source(data, split, regions, eval_fraction, seed, data_dir)
    windows = corpus_windows(source, seq_len, max_windows)
    if not windows:
        _no_window(data, seq_len, split)
    return windows, modality


def _no_window(data: str | list[str], seq_len: int, split: str) -> None:
    raise UsageError(f"{data}: no window of {seq_len + 1} bytes in the {split} split; "
                     "use --split all, a shorter --seq-len or longer data")


def _open_source(data: str | list[str], split: str, regions: list[str] | None, eval_fraction: float,
                 seed: int, data_dir: str | None = None) -> tuple[Any, str, Callable[[Unit], int]]:
    """(windowable source, its modality, where each unit's first byte lies in its record)."""
    if split not in ("eval", "all"):
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if regions:
        return _region_units(data, regions), "dna", lambda u: u.offset
    whole = open_corpus(corpus_spec(data), split="all", data_dir=data_dir, eval_fraction=eval_fraction,
                        seed=seed)
    if split == "all":
        return whole, whole.modality, lambda u: 0
    source = open_corpus(corpus_spec(data), split=split, data_dir=data_dir, eval_fraction=eval_fraction,
                         seed=seed)
    return source, source.modality, record_starts(whole)


def corpus_windows(source: Any, seq_len: int, max_windows: int | None = None) -> list[torch.Tensor]:
    """The fixed evaluation windows ((seq_len + 1,) uint8 each) of a corpus split, as pretraining
    evaluates them (`modalities.datasets.EvalWindows`); empty when no window fits."""
    windows = EvalWindows(source, length=seq_len + 1, max_windows=max_windows)
    return [windows[i] for i in range(len(windows))]


def anchor_numbers(train_units: list[np.ndarray], windows: list[torch.Tensor] | list[np.ndarray],
                   max_order: int) -> AnchorNumbers:
    """Markov (every order, best) and xz/zstd bits/byte on the windows' predicted bytes."""
    return anchor_numbers_sets(train_units, [windows], max_order)[0]


def anchor_numbers_sets(train_units: list[np.ndarray], sets: Sequence[Sequence[torch.Tensor | np.ndarray]],
                        max_order: int) -> list[AnchorNumbers]:
    """`anchor_numbers` of several sets of windows; the Markov counts (the costly part) are made once."""
    arrays = [[np.asarray(w, dtype=np.uint8) for w in ws] for ws in sets]
    out = []
    for markov, ws in zip(markov_bpb_sets(train_units, arrays, max_order), arrays, strict=True):
        compressed = compressed_bpb(ws)
        out.append(AnchorNumbers(markov, xz=compressed.xz, zstd=compressed.zstd,
                                 compressed=compressed.data_bytes))
    return out


def training_units(spec: str | list[str], eval_fraction: float, seed: int, data_dir: str | None = None,
                   rc: bool = False) -> list[np.ndarray]:
    """Every unit of the training split of ``spec``, as uint8 arrays; with ``rc`` (DNA trained with
    reverse-complement augmentation) their reverse complements too, as the neural model saw both."""
    corpus = open_corpus(corpus_spec(spec), split="train", data_dir=data_dir,
                         eval_fraction=eval_fraction, seed=seed)
    units = [corpus.read(i) for i in range(len(corpus))]
    if rc and corpus.modality == "dna":
        units += [reverse_complement_array(u) for u in units]
    return units


def evaluate_checkpoint(checkpoint: str | os.PathLike[str], data: str | list[str], *,
                        regions: list[str] | None = None, split: str = "auto", seq_len: int | None = None,
                        max_windows: int | None = None, batch_size: int = 8, anchors: bool = True,
                        anchor_train: str | list[str] | None = None,
                        max_order: int = 12, device: str | torch.device | None = "cpu",
                        log: TextIO | None = None) -> EvaluationResult:
    """Held-out bits/byte, bytes per chunk per stage and anchors of one checkpoint on ``data``.

    checkpoint: anything `pipelines.runs.resolve.resolve_checkpoint` accepts (a checkpoint or run
    directory, ``RUN@best|last|STEP``, a shipped name). The held-out split, its seed and the
    Markov anchor's training bytes follow the recipe recorded with the checkpoint, if any.
    split: ``auto`` (the held-out split on the training corpus itself, every byte of any other data:
    `pipelines.evaluation.scope`), ``eval`` or ``all``. The modality is checked before any split, so
    a WAV given to a DNA checkpoint hears about the modality, not about an empty split.
    device: where the model runs (`pipelines.inputs.resolve_device`); log: progress (bytes/s, time
    left) and what the anchors are doing, None for quiet.
    """
    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    ckpt = resolve_checkpoint(checkpoint).path
    meta = read_metadata(ckpt)
    recipe = recorded_recipe(ckpt)
    cfg = recipe or PretrainConfig()  # no recipe: pretraining's defaults
    eval_fraction, seed = cfg.data.eval_fraction, cfg.data.split_seed_for(cfg.train.seed)
    seq_len = int(seq_len or meta.seq_len or cfg.train.seq_len)
    trained = recipe.data.corpus if recipe else None
    chosen = "all" if regions else choose_split(split, data, trained, eval_fraction, seed)
    source, modality, first_base = _open_source(data, chosen, regions, eval_fraction, seed)
    if meta.modality != modality:
        raise UsageError(f"{ckpt}: {article(meta.modality)} {meta.modality} checkpoint cannot be evaluated "
                         f"on {modality} data ({data})")
    ew = EvalWindows(source, length=seq_len + 1, max_windows=max_windows)
    windows = [ew[i] for i in range(len(ew))]
    if not windows:
        _no_window(data, seq_len, chosen)
    spans = used_spans(ew, list(source.units), first_base)
    dev = resolve_device(device)
    model, _ = load_pretrained(ckpt, map_location=dev)
    bar = maybe_bar("evaluate", log)
    t0 = time.perf_counter()
    ev = evaluate_bpb(model, windows, DistEnv(device=dev), batch_size, progress=bar, per_window=True)
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    numbers = None
    spec = anchor_train or trained or data
    if anchors:
        numbers = _anchors(spec, windows, eval_fraction, seed, cfg.train.rc_augment, max_order, log)
    return EvaluationResult(
        checkpoint=str(ckpt), model_class=type(model).__name__, data=data, regions=regions or [],
        split="regions" if regions else chosen, seq_len=seq_len, windows=len(windows),
        bits_per_byte=ev.bits_per_byte, predicted_bytes=ev.predicted_bytes,
        bytes_per_chunk=list(ev.bytes_per_chunk), seconds=round(seconds, 3),
        anchor_train=spec if anchors else None, anchors=numbers, bytes_used=spans,
        window_bpb=list(ev.window_bpb))


def _anchors(spec: str | list[str], windows: list[torch.Tensor], eval_fraction: float, seed: int, rc: bool,
             max_order: int, log: TextIO | None) -> AnchorNumbers:
    """Markov (counted on ``spec``'s training split, or taken from the cache) and xz / zstd."""
    arrays = [np.asarray(w, dtype=np.uint8) for w in windows]
    t1 = time.perf_counter()
    markov, hit = cached_markov(lambda: training_units(spec, eval_fraction, seed, rc=rc), arrays, max_order)
    if log is not None:
        how = "from the cache" if hit else f"counted in {time.perf_counter() - t1:.1f} s (now cached)"
        log.write(f"evaluate: Markov anchor (orders 0..{max_order}) {how}\n")
    compressed = compressed_bpb(arrays)
    return AnchorNumbers(markov, xz=compressed.xz, zstd=compressed.zstd, compressed=compressed.data_bytes)


def article(word: str) -> str:
    """"an" before a vowel sound ("an audio checkpoint"), else "a"."""
    return "an" if word[:1].lower() in "aeiou" else "a"
