"""A user's own labelled examples for `hnet-bio classify --labels FILE.tsv`.

One example per line, tab-separated: ``sequence  label  [split]``.
- DNA (``--fasta FILE``): the sequence is a record name or a region ``chr:start-end[:-]``
  (1-based inclusive, ``:-`` for the reverse complement) of that file.
- audio: the sequence is an audio file path, relative to the TSV's folder unless absolute.
- split, if present on every line: ``train`` or ``test``; otherwise metrics are cross-validated.
Blank lines and ``#`` comments are skipped; a first line whose label column reads ``label`` is a
header. Every problem (unknown record, a region past the end, a missing file, one class only)
stops before any model runs, with one line naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hnet_bio.metadata import CheckpointMetadata
from modalities.audio import encode_file
from modalities.errors import InputError, MissingInputError
from pipelines.errors import UsageError
from pipelines.features.tasks import Task
from pipelines.inputs import read_dna_region, sample_rate_of

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Example:
    """One line of the labels file: a sequence (record, region or audio path), its label, its split."""

    sequence: str
    label: str
    split: str | None  # "train", "test", or None without a split column


def read_labels(path: str | os.PathLike[str], fasta: str | Sequence[str] | None,
                meta: CheckpointMetadata) -> Task:
    """The labelled examples as a Task (x_test empty and y_test None when there is no split column),
    their bytes in the checkpoint's convention (soft-masking, audio sample rate)."""
    p = Path(path)
    rows = read_examples(p)
    splits = {r.split for r in rows}
    files = None if fasta is None else ([fasta] if isinstance(fasta, str) else list(fasta))
    audio = not files
    rate = sample_rate_of(meta)
    xs = [_example_bytes(p, r.sequence, files, rate, meta.soft_mask) for r in rows]
    y = np.array([r.label for r in rows])
    modality = "audio" if audio else "dna"
    if None in splits:
        return Task(p.stem, modality, xs, y, [], None, f"labels from {p.name} (CV)",
                    sample_rate=rate if audio else None)
    train = [i for i, r in enumerate(rows) if r.split == "train"]
    test = [i for i, r in enumerate(rows) if r.split == "test"]
    if not train or not test:
        raise UsageError(f"{p}: the split column needs both train and test examples")
    return Task(p.stem, modality, [xs[i] for i in train], y[train], [xs[i] for i in test],
                y[test], f"labels from {p.name}", sample_rate=rate if audio else None)


def read_examples(p: Path) -> list[Example]:
    """The lines of a labels file, checked: at least two classes, a split on every line or on none."""
    if not p.is_file():
        raise MissingInputError(p, "no such labels file")
    rows: list[Example] = []
    for lineno, raw in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cols = raw.rstrip("\r\n").split("\t")
        if len(cols) not in (2, 3) or not cols[0].strip() or not cols[1].strip():
            raise InputError(p, f"line {lineno}: expected 'sequence<TAB>label[<TAB>train|test]'")
        if not rows and cols[1].strip().lower() == "label":
            continue
        split = cols[2].strip().lower() if len(cols) == 3 else None
        if split is not None and split not in SPLITS:
            raise InputError(p, f"line {lineno}: split must be train or test, got {cols[2]!r}")
        rows.append(Example(cols[0].strip(), cols[1].strip(), split))
    if not rows:
        raise InputError(p, "no labelled examples")
    splits = {r.split for r in rows}
    if None in splits and len(splits) > 1:
        raise InputError(p, "give a split column on every line or on none")
    labels = sorted({r.label for r in rows})
    if len(labels) < 2:
        raise InputError(p, f"only one class ({labels[0]!r}); a classifier needs at least two")
    return rows


def _example_bytes(p: Path, spec: str, fasta: list[str] | None, rate: int, soft_mask: bool) -> np.ndarray:
    """(L,) uint8: the audio file (mu-law at ``rate``) or the record/region of the first ``fasta``
    file holding the record."""
    if not fasta:
        f = Path(spec) if Path(spec).is_absolute() else p.parent / spec
        if not f.is_file():
            raise MissingInputError(p, f"unknown sequence {spec!r}: no audio file {f} (or give --fasta)")
        return encode_file(f, rate)
    seq = read_dna_region(fasta, spec, soft_mask)[1]
    if not seq:
        raise InputError(p, f"sequence {spec!r} is empty")
    return np.frombuffer(seq, dtype=np.uint8)
