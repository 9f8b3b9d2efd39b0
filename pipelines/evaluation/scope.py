"""Which bytes an evaluation reads, and saying so.

``--split auto`` (the default) evaluates the held-out split only when the data *is* the corpus the
checkpoint was trained on (the same corpus name, or the same set of files): then the training
bytes must be left out. Any other file is one the model never saw, and all of it is evaluated: a
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

from modalities.corpora import CORPORA, corpus_files
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


def trained_on(data: str | list[str], trained: str | list[str] | None, data_dir: str | None = None) -> bool:
    """True when ``data`` is the checkpoint's training corpus (same name, or the same files)."""
    if trained is None:
        return False
    if isinstance(data, str) and isinstance(trained, str) and data == trained:
        return True
    try:
        mine, theirs = _files(data, data_dir), _files(trained, data_dir)
    except (OSError, InputError):
        return False
    return bool(mine) and mine == theirs


def choose_split(split: str, data: str | list[str], trained: str | list[str] | None,
                 data_dir: str | None = None) -> str:
    """``eval`` or ``all``: ``auto`` is ``eval`` only on the training corpus itself (module docstring)."""
    if split != "auto":
        return split
    return "eval" if trained_on(data, trained, data_dir) else "all"


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
