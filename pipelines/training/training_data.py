"""Open a recipe's training and held-out data, and check that it can feed the job, before anything
is trained or written.

A FASTA of one short record, a header-only record, a 10 ms WAV or a held-out split shorter than one
window used to surface as a traceback from deep inside the datasets, some only after training,
with a run directory left behind. Here each becomes one line that names the file and the sizes,
raised before the run directory exists. What the user's data became (which files, what was held
out, at which sample rate) comes back as ``notes`` for the job to print at start.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modalities.corpora import Corpus, open_corpus
from modalities.datasets import EvalWindows, RandomWindows
from modalities.errors import InputError
from pipelines.errors import UsageError
from pipelines.training.train_config import PretrainConfig
from pipelines.units import human_bytes


class DataTooSmall(InputError):
    """The data cannot give one window of the length the job trains or evaluates on."""


@dataclass
class TrainingData:
    """Both splits, their window datasets, and what to tell the user about them."""

    train_corpus: Corpus
    eval_corpus: Corpus
    train_set: RandomWindows
    eval_set: EvalWindows
    notes: list[str] = field(default_factory=list)


def open_training_data(cfg: PretrainConfig) -> TrainingData:
    """The recipe's train/eval corpora and windows; DataTooSmall/UsageError if they cannot serve."""
    t, d = cfg.train, cfg.data
    window = t.seq_len + 1  # each window reads seq_len + 1 bytes (inputs and next-byte targets)
    common: dict[str, Any] = {"data_dir": d.data_dir, "eval_fraction": d.eval_fraction,
                              "seed": d.split_seed_for(t.seed),
                              "sample_rate": d.sample_rate, "min_eval_bytes": window}
    train = open_corpus(d.corpus, split="train", **common)
    held = open_corpus(d.corpus, split="eval", **common)
    if t.rc_augment and train.modality != "dna":
        raise UsageError(f"train.rc_augment (reverse complement) is for DNA; this corpus is {train.modality}")
    check_sizes(train, held, window)
    train_set = RandomWindows(train, length=window, seed=t.seed, rc_augment=t.rc_augment)
    eval_set = EvalWindows(held, length=window, max_windows=t.eval_windows)
    return TrainingData(train, held, train_set, eval_set, describe_data(train, held, window))


def where(corpus: Corpus) -> str:
    """The name a message should lead with: what the user gave (one file or directory), the corpus
    name, or 'N files'."""
    src = corpus.source
    if "corpus" in src:
        return str(src["corpus"])
    given = src.get("given")
    if isinstance(given, str) and "," not in given:
        return given
    if isinstance(given, list) and len(given) == 1:
        return str(given[0])
    files = src.get("files") or []
    return str(files[0]) if len(files) == 1 else f"{len(files)} files"


def _size(corpus: Corpus, n: int) -> str:
    if corpus.modality == "audio" and corpus.sample_rate:
        return f"{n:,} bytes ({n / corpus.sample_rate:.3g} s at {corpus.sample_rate} Hz)"
    return f"{n:,} bytes"


def check_sizes(train: Corpus, held: Corpus, window: int) -> None:
    """Raise DataTooSmall unless training has a unit of ``window`` bytes and evaluation one window."""
    every = train.total_bytes + held.total_bytes
    kind = "recording" if train.modality == "audio" else "record"
    if every == 0:
        raise DataTooSmall(where(train), f"holds no {'samples' if train.modality == 'audio' else 'bases'} "
                                         "(header-only records?)")
    hint = f"train.seq_len {window - 1} + 1"
    if not train.units or max(train.lengths) < window:
        whole: Counter[tuple[str, str]] = Counter()  # a unit's bytes before its tail was held out
        for u in [*train.units, *held.units]:
            whole[(u.source, u.name)] += u.length
        (_, name), n = whole.most_common(1)[0]
        trained = max(train.lengths) if train.units else 0
        got = f"the longest {kind} ({name!r}) has {_size(train, n)}"
        if trained != n:
            got += f", {trained:,} left for training after the held-out part"
        raise DataTooSmall(where(train), f"too small to train on: {got}; one training window is "
                                         f"{_size(train, window)} ({hint}); give more data or a smaller "
                                         "--train.seq_len")
    if sum(n // window for n in held.lengths) == 0:
        raise DataTooSmall(where(held), f"the held-out split ({held.source.get('held_out', '')}) has no "
                                        f"window of {_size(held, window)} ({hint}); raise "
                                        "--data.eval_fraction or lower --train.seq_len")


def describe_data(train: Corpus, held: Corpus, window: int) -> list[str]:
    """Lines for the start of a run: what was read, what was held out, at which rate."""
    src = train.source
    files = src.get("files") or []
    lines = [f"data: {where(train)}: {len(files)} file(s), train {human_bytes(train.total_bytes)} in "
             f"{len(train)} unit(s), held out {human_bytes(held.total_bytes)} "
             f"({sum(n // window for n in held.lengths)} evaluation window(s))"]
    if src.get("held_out"):
        lines.append(f"data: {src['held_out']}")
    if train.modality == "audio":
        native = src.get("native_rates")
        if native:
            how = ("the files' own rate" if native == [train.sample_rate]
                   else f"files are at {', '.join(map(str, native))} Hz; set --data.sample_rate to choose")
            lines.append(f"data: audio at {train.sample_rate} Hz ({how})")
        if "corpus" not in src and files:
            lines.append(f"data: included audio files by folder: {_by_folder(files)}")
    skipped, n_skipped = src.get("skipped") or [], int(src.get("skipped_count") or 0)
    if n_skipped:
        shown = ", ".join(Path(s).name for s in skipped[:3]) + (", ..." if n_skipped > 3 else "")
        lines.append(f"data: skipped {n_skipped} file(s) that are neither sequence nor audio: {shown}")
    return lines


def _by_folder(files: list[str]) -> str:
    """'speech/ 12, silence/ 3': so a user sees a folder they meant to leave out (silence/)."""
    counts = Counter(Path(f).parent.name + "/" for f in files)
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
