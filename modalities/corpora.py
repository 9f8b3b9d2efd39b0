"""Named corpora and ad-hoc path lists, opened as memory-mapped byte units with a fixed split.

A :class:`Corpus` is a list of units (records or audio files) whose bytes live in cache bins
(see :mod:`cache`); ``read`` slices a memmap, so opening a 50 Mb corpus costs its index, not its
bytes. Corpora pickle without their memmaps, which each DataLoader worker reopens lazily.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from hnet_bio.errors import ConfigError
from modalities.audio import AUDIO_SUFFIXES, DEFAULT_SAMPLE_RATE, encode_file, native_rates
from modalities.cache import cached_source
from modalities.errors import CorpusError, MissingInputError
from modalities.seqio import COMPRESSED_SUFFIXES, SEQUENCE_SUFFIXES, Header, sequence_events
from modalities.splits import Unit, describe_held_out, split_units

_REF = "pkgs/ragout-examples/usr/share/doc/ragout/examples"
_ANY2FASTA = "pkgs/any2fasta-examples/usr/share/doc/any2fasta/examples"
_SOUNDS = "pkgs/asterisk-core-sounds-en-wav/usr/share/asterisk/sounds/en_US_f_Allison"


@dataclass(frozen=True)
class CorpusInfo:
    """A registry entry: where a named corpus lives (relative to the data dir) and how to split it."""

    name: str
    modality: str
    description: str
    package: str | None
    root: str
    patterns: tuple[str, ...]
    exclude_dirs: tuple[str, ...] = ()
    by_group: bool = False
    native_rate: int | None = None
    held_group: str = ""  # with by_group: this whole group (a genus) is the eval split


CORPORA: dict[str, CorpusInfo] = {c.name: c for c in (
    CorpusInfo("dna-sample", "dna", "embedded H. pylori G27 complete genome (1.65 Mb), shipped in package",
               None, "<package>/modalities/data", ("dna-sample.fasta.gz",)),
    CorpusInfo("dna-bacteria", "dna", "16 complete genomes: E. coli, H. pylori, S. aureus, V. cholerae",
               "ragout-examples", _REF, ("*/references/*.fasta.gz",), by_group=True),
    CorpusInfo("dna-bacteria-genus", "dna", "dna-bacteria with the whole genus Vibrio held out "
               "(trains on what dna-bacteria trains on, less Vibrio)",
               "ragout-examples", _REF, ("*/references/*.fasta.gz",), by_group=True, held_group="V.Cholerae"),
    CorpusInfo("dna-annotated", "dna", "annotated drafts: Leptospira (GenBank) and E. coli (GFF3 + FASTA)",
               "any2fasta-examples", _ANY2FASTA, ("test.gbk.gz", "test.gff.gz")),
    CorpusInfo("audio-speech", "audio", "Asterisk en_US Allison prompts, studio speech, 8 kHz (no silence/)",
               "asterisk-core-sounds-en-wav", _SOUNDS,
               ("**/*.wav",), exclude_dirs=("silence",), native_rate=8000),
    CorpusInfo("audio-music", "audio", "Asterisk music-on-hold (opsound), 8 kHz",
               "asterisk-moh-opsound-wav", "pkgs/asterisk-moh-opsound-wav/usr/share/asterisk/moh", ("*.wav",),
               native_rate=8000),
)}


def held_group_of(name: str) -> str:
    """The group (genus) a named corpus holds out whole; "" for any other corpus or a file list."""
    info = CORPORA.get(name)
    return info.held_group if info is not None else ""


@dataclass(frozen=True)
class CorpusStatus:
    """One row of ``hnet-bio data list``."""

    name: str
    modality: str
    description: str
    files: int
    bytes: int
    present: bool
    path: str


def default_data_dir() -> Path:
    """``$HNET_BIO_DATA``, else ``data/`` of the source checkout, else ``./data``."""
    env = os.environ.get("HNET_BIO_DATA")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists():
        return checkout / "data"
    return Path.cwd() / "data"


def corpus_root(info: CorpusInfo, data_dir: str | os.PathLike[str] | None = None) -> Path:
    if info.root.startswith("<package>"):
        return Path(str(resources.files("modalities") / "data"))
    return Path(data_dir) if data_dir is not None else default_data_dir()


def corpus_files(info: CorpusInfo, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The files of a named corpus that are present, in a stable (sorted) order."""
    base = corpus_root(info, data_dir)
    root = base if info.root.startswith("<package>") else base / info.root
    if not root.is_dir():
        return []
    found = {p for pat in info.patterns for p in root.glob(pat) if p.is_file()}
    keep = [p for p in found if not any(part in info.exclude_dirs for part in p.relative_to(root).parts[:-1])]
    return sorted(keep)


def list_corpora(data_dir: str | os.PathLike[str] | None = None) -> list[CorpusStatus]:
    """Every named corpus with its file count, size on disk and whether it is present."""
    rows = []
    for info in CORPORA.values():
        files = corpus_files(info, data_dir)
        root = corpus_root(info, data_dir)
        path = root if info.root.startswith("<package>") else root / info.root
        rows.append(CorpusStatus(info.name, info.modality, info.description, len(files),
                                 sum(f.stat().st_size for f in files), bool(files), str(path)))
    return rows


class Corpus:
    """Byte units (records or audio files) of one split, read by memmap slices."""

    def __init__(self, units: list[Unit], modality: str, sample_rate: int | None, spec: str, split: str,
                 source: dict[str, Any]) -> None:
        self.units = list(units)
        self.modality = modality
        self.sample_rate = sample_rate
        self.spec = spec
        self.split = split
        self.source = source
        self._maps: dict[str, np.memmap] = {}

    @property
    def names(self) -> list[str]:
        return [u.name for u in self.units]

    @property
    def lengths(self) -> list[int]:
        return [u.length for u in self.units]

    @property
    def total_bytes(self) -> int:
        return sum(u.length for u in self.units)

    def __len__(self) -> int:
        return len(self.units)

    def read(self, i: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """uint8 bytes ``[start, stop)`` of unit ``i`` (a copy of just that slice)."""
        unit = self.units[i]
        stop = unit.length if stop is None else stop
        if not 0 <= start <= stop <= unit.length:
            raise IndexError(f"slice [{start}, {stop}) outside unit {unit.name!r} of length {unit.length}")
        if stop == start:
            return np.zeros(0, dtype=np.uint8)
        mm = self._maps.get(unit.bin_path)
        if mm is None:
            mm = self._maps[unit.bin_path] = np.memmap(unit.bin_path, dtype=np.uint8, mode="r")
        return np.array(mm[unit.offset + start : unit.offset + stop])

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for run metadata: what was trained on, exactly."""
        return {
            "spec": self.spec, "split": self.split, "modality": self.modality,
            "sample_rate": self.sample_rate,
            "num_units": len(self.units), "total_bytes": self.total_bytes, "source": self.source,
            "units": [{"name": u.name, "source": u.source, "offset": u.offset, "length": u.length}
                      for u in self.units],
        }

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = {}  # memmaps are reopened lazily in each worker process
        return state

    def __repr__(self) -> str:
        return (f"Corpus({self.spec!r}, split={self.split!r}, modality={self.modality!r}, "
                f"units={len(self.units)}, bytes={self.total_bytes})")


def _build_dna(source: Path, out: BinaryIO, soft_mask: bool) -> list[tuple[str, str, int]]:
    units: list[tuple[str, str, int]] = []
    name, desc, length = None, "", 0
    for ev in sequence_events(source):
        if isinstance(ev, Header):
            if name is not None:
                units.append((name, desc, length))
            name, desc, length = ev.name, ev.description, 0
        else:
            out.write(ev if soft_mask else ev.upper())
            length += len(ev)
    if name is not None:
        units.append((name, desc, length))
    return units


def _build_audio(source: Path, out: BinaryIO, sample_rate: int) -> list[tuple[str, str, int]]:
    codes = encode_file(source, sample_rate)
    out.write(codes.tobytes())
    return [(source.stem, "", int(codes.size))]


def _modality_of(path: Path) -> str:
    return "audio" if path.suffix.lower() in AUDIO_SUFFIXES else "dna"


def _expand_paths(
    spec: str | os.PathLike[str] | list[Any] | tuple[Any, ...], skipped: list[str] | None = None
) -> list[Path]:
    """Files named by ``spec``; a directory gives its sequence/audio files (recursively), and the
    other files it holds are appended to ``skipped`` so the user can be told what was left out."""
    if isinstance(spec, (str, os.PathLike)):
        items: list[Any] = [s for s in str(spec).split(",") if s.strip()]
    else:
        items = list(spec)
    paths: list[Path] = []
    for item in items:
        p = Path(str(item).strip())
        if p.is_dir():
            every = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            found = [f for f in every if _is_data_file(f)]
            if not found:
                raise CorpusError(p, "directory holds no sequence or audio files "
                                     f"(looked for {', '.join(sorted(SEQUENCE_SUFFIXES | AUDIO_SUFFIXES))}, "
                                     "optionally compressed .gz/.xz/.bz2)")
            if skipped is not None:  # the caller keeps a count and the first few names
                skipped.extend(str(f) for f in every if not _is_data_file(f) and not _is_index(f))
            paths.extend(found)
        elif p.is_file():
            paths.append(p)
        elif len(items) == 1 and os.sep not in str(item) and not p.suffix:
            known = ", ".join(CORPORA)
            raise CorpusError(p, f"unknown corpus name and no such file (named corpora: {known})")
        else:
            raise MissingInputError(p, "no such file or directory")
    return paths


def _is_index(f: Path) -> bool:
    """Side files our readers make or use (.fai, .gzi): not worth a mention as 'skipped'."""
    return f.suffix.lower() in (".fai", ".gzi")


def _is_data_file(f: Path) -> bool:
    suffixes = [s.lower() for s in f.suffixes if s.lower() not in COMPRESSED_SUFFIXES]
    return bool(suffixes) and (suffixes[-1] in SEQUENCE_SUFFIXES or suffixes[-1] in AUDIO_SUFFIXES)


def open_corpus(
    spec: str | os.PathLike[str] | list[Any] | tuple[Any, ...],
    split: str = "train",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    eval_fraction: float = 0.05,
    seed: int = 0,
    sample_rate: int | None = None,
    soft_mask: bool = False,
    min_eval_bytes: int = 0,
) -> Corpus:
    """Open a named corpus or a list of files/dirs (comma-separated string or list) as one split.

    Audio is encoded at ``sample_rate``; None means the native rate (the named corpus's, or the
    files' own when they all agree, else 16 kHz). DNA is upper-cased unless ``soft_mask``.
    Conversion is cached once per file. A user's own files that are too few to hold out whole
    ones are split by contiguous tails (see :mod:`splits`; ``min_eval_bytes`` is one evaluation
    window); ``source["held_out"]`` says in words what was held out.
    """
    if sample_rate is not None and (isinstance(sample_rate, bool) or int(sample_rate) != sample_rate
                                    or sample_rate <= 0):
        raise ConfigError(f"sample_rate must be a positive integer (samples per second), got {sample_rate!r}")
    info = CORPORA.get(str(spec)) if isinstance(spec, str) else None
    source: dict[str, Any]
    if info is not None:
        files = corpus_files(info, data_dir)
        if not files:
            where = corpus_root(info, data_dir) / info.root
            raise CorpusError(where, f"corpus {info.name!r} is not present; run `hnet-bio data fetch` "
                                     "(scripts/fetch_data.sh) to unpack it")
        modality, name = info.modality, info.name
        rate = sample_rate or info.native_rate or DEFAULT_SAMPLE_RATE
        source = {"corpus": info.name, "package": info.package, "description": info.description,
                  "files": [str(f) for f in files]}
        if info.name == "dna-sample":
            source.update(_sample_source())
    else:
        skipped: list[str] = []
        files = _expand_paths(spec, skipped)
        kinds = {_modality_of(f) for f in files}
        if len(kinds) != 1:
            raise CorpusError(files[0], "cannot mix audio and sequence files in one corpus")
        modality, name = kinds.pop(), ",".join(str(f) for f in files)
        given = [os.fspath(x) for x in spec] if isinstance(spec, (list, tuple)) else os.fspath(spec)
        source = {"given": given, "files": [str(f) for f in files], "skipped": skipped[:20],
                  "skipped_count": len(skipped)}
        rate = DEFAULT_SAMPLE_RATE
        if modality == "audio":
            rates = native_rates(files)
            source["native_rates"] = sorted(set(rates))
            rate = sample_rate or (rates[0] if len(set(rates)) == 1 else DEFAULT_SAMPLE_RATE)
    units: list[Unit] = []
    for f in files:
        if modality == "dna":
            entry = cached_source(f, "dna", {"soft_mask": soft_mask},
                                  lambda src, out: _build_dna(src, out, soft_mask))
        else:
            entry = cached_source(f, "audio", {"sample_rate": rate},
                                  lambda src, out: _build_audio(src, out, rate))
        group = f.parent.parent.name if info is not None and info.by_group else ""
        for u in entry.units:
            unit_name = u.name
            if modality == "audio" and info is not None:  # "digits/1", not a bare "1" that repeats
                unit_name = str(f.relative_to(corpus_root(info, data_dir) / info.root).with_suffix(""))
            units.append(Unit(unit_name, str(f), entry.bin_path, u.offset, u.length, group))
    by_group, tail_when_few = bool(info and info.by_group), info is None
    rule = (by_group, tail_when_few, min_eval_bytes, info.held_group if info is not None else "")
    chosen = split_units(units, split, eval_fraction, seed, *rule)
    source["held_out"] = describe_held_out(units, eval_fraction, seed, *rule)
    return Corpus(chosen, modality, rate if modality == "audio" else None, name, split, source)


def _sample_source() -> dict[str, Any]:
    path = resources.files("modalities") / "data" / "SOURCE.json"
    try:
        return {"origin": json.loads(path.read_text())}
    except (OSError, ValueError):
        return {}
