"""Flat uint8 caches of converted sources, memory-mapped by the corpora.

Each source file (a FASTA with all its records, or one audio file) is converted once into one
``.bin`` of concatenated unit bytes plus a ``.json`` index of (name, offset, length). The key covers
the absolute path, mtime, size and conversion options, so an edited file or a different sample
rate gets a fresh cache. Both files are written atomically, the index last: an index on disk
means a complete bin. Workers then ``np.memmap`` the bin, so memory follows the windows in flight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hnet_bio.atomic import atomic_write

CACHE_VERSION = 1
# A builder streams the unit bytes of ``source`` into ``out``; returns (name, description, length) per unit.
Builder = Callable[[Path, BinaryIO], list[tuple[str, str, int]]]


@dataclass(frozen=True)
class CachedUnit:
    name: str
    description: str
    offset: int
    length: int


@dataclass(frozen=True)
class CachedSource:
    source: str
    bin_path: str
    units: tuple[CachedUnit, ...]


def cache_root() -> Path:
    """``$HNET_BIO_CACHE``, else ``$XDG_CACHE_HOME/hnet-bio``, else ``~/.cache/hnet-bio``."""
    env = os.environ.get("HNET_BIO_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hnet-bio"


def cache_key(source: Path, kind: str, options: dict[str, object]) -> str:
    st = source.stat()
    ident = [CACHE_VERSION, str(source.resolve()), st.st_mtime_ns, st.st_size, kind, sorted(options.items())]
    return hashlib.sha1(json.dumps(ident, default=str).encode()).hexdigest()[:20]


def cached_source(source: Path, kind: str, options: dict[str, object], build: Builder) -> CachedSource:
    """The cache entry for ``source``, building it (once, atomically) if absent or stale."""
    stem = f"{source.name}-{cache_key(source, kind, options)}"
    root = cache_root() / "bins"
    bin_path, index_path = root / f"{stem}.bin", root / f"{stem}.json"
    if index_path.exists() and bin_path.exists():
        entry = _load_index(source, bin_path, index_path)
        if entry is not None:
            return entry
    with atomic_write(bin_path) as out:
        units = build(source, out)
    offset = 0
    cached = []
    for name, desc, length in units:
        cached.append(CachedUnit(name, desc, offset, length))
        offset += length
    with atomic_write(index_path) as fh:
        rows = [dataclasses.asdict(u) for u in cached]  # name, description, offset, length
        index = {"source": str(source), "kind": kind, "options": options, "units": rows}
        fh.write(json.dumps(index).encode())
    return CachedSource(str(source), str(bin_path), tuple(cached))


def _load_index(source: Path, bin_path: Path, index_path: Path) -> CachedSource | None:
    try:
        rows = json.loads(index_path.read_text())["units"]
    except (OSError, ValueError, KeyError):
        return None
    units = tuple(CachedUnit(**r) for r in rows)
    if sum(u.length for u in units) != bin_path.stat().st_size:
        return None  # bin and index disagree: rebuild rather than serve wrong bytes
    return CachedSource(str(source), str(bin_path), units)
