"""Which bytes an evaluation reads, and saying so.

``--split auto`` (the default) evaluates the held-out split only when the data is the corpus the
checkpoint was trained on, or holds a file that gave it training bytes: then the training bytes
must be left out (of a single training file, its own held-out tail). Any other file is one the
model never saw (a held-out strain of ``dna-bacteria`` included), and all of it is evaluated: a
user's own genome held back to its last 5% would throw away 95% of a perfectly clean test set.
``eval`` and ``all`` force one or the other.

Whatever the split, `used_spans` names the bytes: per record (or audio file), the file, the
0-based half-open span of the record the windows cover, and how many windows read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hnet_bio.errors import HNetBioError
from modalities.corpora import CORPORA, corpus_files, open_corpus
from modalities.datasets import EvalWindows
from modalities.errors import InputError
from modalities.splits import Unit

SPLITS = ("auto", "eval", "all")


@dataclass(frozen=True)
class UsedSpan:
    """Bytes ``[start0, end0)`` of ``record`` in ``file`` that ``windows`` evaluation windows read
    (with ``--max-windows`` the windows are spread over the span, not contiguous)."""

    file: str
    record: str
    start0: int
    end0: int
    windows: int

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "record": self.record, "start0": self.start0, "end0": self.end0,
                "windows": self.windows}

    def line(self) -> str:
        """samtools style (1-based inclusive), as a user would type it back as a region."""
        where = f"{self.record}:{self.start0 + 1:,}-{self.end0:,}"
        return f"{where} of {Path(self.file).name} ({self.windows} windows)"


def _files(spec: str | list[str] | None, data_dir: str | None = None) -> set[Path]:
    """The files a corpus spec names (a corpus name, files or directories), resolved; empty if unknown."""
    if spec is None:
        return set()
    items = [spec] if isinstance(spec, str) else list(spec)
    out: set[Path] = set()
    for item in items:
        info = CORPORA.get(str(item))
        if info is not None:
            out |= {p.resolve() for p in corpus_files(info, data_dir)}
            continue
        for part in str(item).split(","):
            p = Path(part.strip())
            if p.is_dir():
                out |= {f.resolve() for f in p.rglob("*") if f.is_file()}
            elif p.exists():
                out.add(p.resolve())
    return out


def training_files(trained: str | list[str], eval_fraction: float = 0.05, seed: int = 0,
                   data_dir: str | None = None) -> set[Path] | None:
    """The files that gave the checkpoint training bytes (its corpus's train split), resolved; None
    when the recorded corpus cannot be opened here (files named relative to another directory)."""
    try:
        corpus = open_corpus(trained, split="train", data_dir=data_dir, eval_fraction=eval_fraction,
                             seed=seed)
    except (OSError, HNetBioError):
        return None
    return {Path(u.source).resolve() for u in corpus.units}


def trained_on(data: str | list[str], trained: str | list[str] | None, eval_fraction: float = 0.05,
               seed: int = 0, data_dir: str | None = None) -> bool:
    """True when ``data`` shares a file with the checkpoint's training split (so only a held-out
    split may be scored); a held-out strain of a named corpus, or any other file, is unseen."""
    if trained is None:
        return False
    if isinstance(data, str) and isinstance(trained, str) and data == trained:
        return True
    try:
        mine = _files(data, data_dir)
    except (OSError, InputError):
        return False
    taught = training_files(trained, eval_fraction, seed, data_dir)
    if taught is not None:
        return bool(mine & taught)
    # the recipe names its files relative to where pretraining ran: a file of the same name counts
    # as a training file, so training bytes are never scored as unseen
    recorded = [trained] if isinstance(trained, str) else list(trained)
    names = {Path(part.strip()).name for t in recorded for part in str(t).split(",") if part.strip()}
    return bool({p.name for p in mine} & names)


def choose_split(split: str, data: str | list[str], trained: str | list[str] | None,
                 eval_fraction: float = 0.05, seed: int = 0, data_dir: str | None = None) -> str:
    """``eval`` or ``all``: ``auto`` is ``eval`` only on (a file of) the training split (module docstring)."""
    if split != "auto":
        return split
    return "eval" if trained_on(data, trained, eval_fraction, seed, data_dir) else "all"


def used_spans(windows: EvalWindows, units: list[Unit], first_base: Callable[[Unit], int]) -> list[UsedSpan]:
    """Per unit that any window reads, the span it covers in its record's coordinates.

    units: the windows' corpus units; first_base(unit): where the unit's first byte lies in its record
    (a held-out tail starts inside the record; a ``--region`` at its own start).
    """
    seen: dict[int, list[int]] = {}
    for i in range(len(windows)):
        unit, start = windows.locate(i)
        seen.setdefault(unit, []).append(start)
    out = []
    for k, where in seen.items():
        u = units[k]
        base = first_base(u)
        end = base + max(where) + windows.length
        out.append(UsedSpan(u.source, u.name, base + min(where), end, len(where)))
    return out


def record_starts(whole: Any) -> Callable[[Unit], int]:
    """first_base for units of a split of ``whole`` (the same corpus opened with split "all")."""
    starts = {(u.source, u.name): u.offset for u in whole.units}
    return lambda u: u.offset - starts.get((u.source, u.name), u.offset)


def describe(spans: list[UsedSpan], limit: int = 3) -> list[str]:
    """The spans as lines for the terminal: the first ``limit`` and how many more."""
    lines = [s.line() for s in spans[:limit]]
    if len(spans) > limit:
        lines.append(f"... and {len(spans) - limit} more records (all in the JSON)")
    return lines
