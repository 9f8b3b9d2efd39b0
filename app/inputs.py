"""The browser's inputs: checkpoint(s), the sequence or sound, and the page on screen.

The sidebar collects what the user typed (`Choice`); `load_source` turns it into a `Source` (bytes
in the checkpoint's convention plus where they sit in the user's file, via `pipelines.inputs.Item`),
raising the project's typed errors for anything wrong, which the page shows as one line.
A multi-record file gets a record picker (writing the record into the region field), and bytes
per screen has its own default per modality (2,000 bases; one second of audio). With a data root
(`app.access`) the path field opens only files under it and uploads have a size limit.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from app.access import allowed_path, check_expansion, check_upload
from hnet_bio.atomic import atomic_write_bytes
from hnet_bio.metadata import CheckpointMetadata
from modalities.annotations import Feature, read_annotations
from modalities.audio import AUDIO_SUFFIXES
from modalities.corpora import CORPORA, corpus_files
from modalities.errors import FastaFormatError, MissingInputError, RegionError
from modalities.iupac import LETTERS
from modalities.regions import parse_region
from modalities.seqio import Header, check_file, open_binary, sequence_events, sequence_format
from pipelines.errors import UsageError
from pipelines.inputs import Item, audio_items, dna_items, sample_rate_of
from pipelines.runs.resolve import DEFAULT_DNA_CHECKPOINT, checkpoint_choices

EMBEDDED = "dna-sample"
# What `hnet-bio browse` (pipelines/browse.py) sets for the page to open with.
ENV_CHECKPOINT = "HNET_BIO_BROWSE_CHECKPOINT"
ENV_DATA = "HNET_BIO_BROWSE_DATA"
ENV_REGION = "HNET_BIO_BROWSE_REGION"
ENV_POSITION = "HNET_BIO_BROWSE_POSITION"
MODES = ("file path", "upload", "typed bases")
DEFAULT_WINDOW = 2000  # bases per screen: a few genes, the text view all of them
MAX_WINDOW = 20_000
ALL_NAMES = 30  # an unknown record's error lists every name up to this many, else the closest
KEPT_UPLOADS = 16  # upload folders kept on disk (oldest removed first): a server's disk stays bounded


@dataclass
class Choice:
    """What the sidebar says, before anything is read."""

    checkpoint: str
    compare: str
    mode: str
    path: str
    region: str
    typed: str
    upload: tuple[str, bytes] | None
    window: int
    start_position: int | None = None  # 1-based genome coordinate to open at (start-up input only)
    slots: dict[str, Any] = field(default_factory=dict)  # sidebar places filled once the input is known


@dataclass
class Source:
    """One input ready for a model: its bytes (an `Item`) and what the page needs to draw it."""

    kind: str  # "dna" | "audio"
    item: Item
    key: str  # content digest: part of the result-cache key
    features: list[Feature] = field(default_factory=list)
    records: list[str] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.item.length


@dataclass(frozen=True)
class Startup:
    """The input the page opens with: from `hnet-bio browse` (environment), else the shipped DNA
    model on dna-sample."""

    checkpoint: str
    data: str
    region: str
    position: int | None  # 1-based genome coordinate to open at


def startup_defaults() -> Startup:
    position = os.environ.get(ENV_POSITION, "")
    return Startup(checkpoint=os.environ.get(ENV_CHECKPOINT, DEFAULT_DNA_CHECKPOINT),
                   data=os.environ.get(ENV_DATA, EMBEDDED), region=os.environ.get(ENV_REGION, ""),
                   position=int(position) if position else None)


def sidebar(defaults: Startup) -> Choice:
    """The input widgets (sidebar); keys are stable so tests and links can drive them. The record
    picker and bytes per screen depend on the input, so the sidebar keeps a place for each."""
    sb = st.sidebar
    sb.header("Input")
    known = checkpoint_choices()
    ckpt = sb.text_input("Checkpoint (shipped name, runs/NAME[@last|@STEP] or path)", defaults.checkpoint,
                         key="ckpt",
                         help="known here: " + (", ".join(known) if known else "none found"))
    mode = sb.radio("Sequence or sound from", MODES, key="mode", horizontal=True)
    path = region = typed = ""
    upload = None
    if mode == "file path":
        path = sb.text_input("File (FASTA/GenBank/GFF3/WAV/FLAC, or dna-sample)", defaults.data, key="path")
        region = sb.text_input("Record or region (chr:start-end, 1-based)", defaults.region, key="region")
    elif mode == "upload":
        up = sb.file_uploader("Upload a file", key="upload")
        upload = (up.name, up.getvalue()) if up is not None else None
        region = sb.text_input("Record or region (chr:start-end, 1-based)", "", key="region_up")
    else:
        typed = sb.text_area("Bases (IUPAC letters)", "", key="typed")
    slots = {"record": sb.empty(), "window": sb.empty()}
    sb.header("Compare")
    compare = sb.text_input("Second checkpoint (optional)", "", key="compare")
    startup = mode == "file path" and path.strip() == defaults.data and region.strip() == defaults.region
    return Choice(ckpt.strip(), compare.strip(), mode, path.strip(), region.strip(), typed, upload, 0,
                  defaults.position if startup else None, slots)


def window_input(choice: Choice, source: Source) -> int:
    """Bytes per screen, in the sidebar's place for it: its own widget per modality, so each keeps
    its own default (2,000 bases; one second of audio, whose spectrogram then has ~250 frames)."""
    slot = choice.slots.get("window")
    if slot is None:
        return choice.window or DEFAULT_WINDOW
    if source.kind == "audio":
        rate = int(source.item.sample_rate or 1)
        return int(slot.number_input(f"Samples per screen ({rate:,} = one second)", min_value=50,
                                     max_value=MAX_WINDOW, value=min(rate, MAX_WINDOW), step=rate // 4 or 1,
                                     key="window_audio"))
    return int(slot.number_input("Bases per screen (over 400: a per-bin summary)", min_value=50,
                                 max_value=MAX_WINDOW, value=DEFAULT_WINDOW, step=500, key="window"))


def _digest(data: np.ndarray, *extra: object) -> str:
    h = hashlib.sha1(np.ascontiguousarray(data).tobytes())
    h.update(repr(extra).encode())
    return h.hexdigest()


def _embedded_path() -> str:
    return str(corpus_files(CORPORA[EMBEDDED])[0])


UPLOADS = Path(tempfile.gettempdir()) / "hnet-bio-browse"


def _uploaded_path(name: str, data: bytes) -> str:
    """An upload as a file (the readers take paths), one folder per content so names stay; the
    `KEPT_UPLOADS` most recent folders are kept."""
    check_upload(name, data)
    folder = UPLOADS / hashlib.sha1(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (Path(name).name or "upload")
    if not target.exists():
        atomic_write_bytes(target, data)  # two sessions uploading the same file never read half of it
    os.utime(folder)
    folders = sorted((f for f in UPLOADS.iterdir() if f.is_dir()), key=lambda f: f.stat().st_mtime)
    for old in folders[:-KEPT_UPLOADS]:
        shutil.rmtree(old, ignore_errors=True)
    check_expansion(target, name)
    return str(target)


def is_audio_file(path: str) -> bool:
    return Path(path).suffix.lower() in AUDIO_SUFFIXES


@st.cache_data(show_spinner=False, max_entries=16)
def record_names(path: str, stamp: tuple[float, int]) -> list[str]:
    """The names of the file's sequence records, in file order (cached per file version). FASTA
    from its header lines only (a genome of gigabytes is not validated twice just to list its
    names; the reader validates what it reads); the annotated formats through their parsers."""
    p = check_file(path)
    if sequence_format(p) == "fasta":
        with open_binary(p) as fh:
            heads = [line[1:].decode("utf-8", "replace").strip() for line in fh if line[:1] == b">"]
        names = [h.partition(" ")[0].split("\t")[0] for h in heads if h]
    else:
        names = [ev.name for ev in sequence_events(path) if isinstance(ev, Header)]
    if not names:
        raise FastaFormatError(path, "no sequence records")
    return names


def unknown_record(path: str, name: str, names: list[str]) -> RegionError:
    """The error for a record name the file lacks: every name, or for a long list the closest ones."""
    if len(names) == 1:
        return RegionError(path, f"unknown record name {name!r}; the file's only record is {names[0]}")
    if len(names) <= ALL_NAMES:
        return RegionError(path, f"unknown record name {name!r}; the file's {len(names)} records: "
                                 + ", ".join(names))
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
    hint = f"closest: {', '.join(close)}" if close else f"first: {', '.join(names[:5])}"
    return RegionError(path, f"unknown record name {name!r}; the file has {len(names):,} records ({hint}; "
                             "all are in the sidebar's record list)")


@st.cache_data(show_spinner=False, max_entries=16)
def _read_dna(path: str, stamp: tuple[float, int], region: str,
              soft_mask: bool) -> tuple[Item, list[Feature]]:
    """(the item, CDS/gene features on its record) in the checkpoint's convention (lower case kept
    for a soft-masking model); cached per file version, region and convention."""
    check_file(path)
    items = dna_items(path, [region] if region else [], soft_mask=soft_mask)
    if not items:
        raise FastaFormatError(path, "no sequence records")
    item = items[0]
    feats: list[Feature] = []
    if sequence_format(Path(path)) in ("genbank", "embl", "gff3"):
        feats = [f for f in read_annotations(path, ("CDS", "gene")) if f.record == item.chrom]
    return item, feats


def _choose_record(region_key: str) -> None:
    """The picker's callback: the picked record goes into the region field (the whole record)."""
    st.session_state[region_key] = st.session_state["record"]


def record_picker(choice: Choice, names: list[str], current: str) -> None:
    """A list of the file's records, in the sidebar's place for it, when there is more than one."""
    slot = choice.slots.get("record")
    if slot is None or len(names) < 2:
        return
    st.session_state["record"] = current if current in names else names[0]
    slot.selectbox(f"Record ({len(names):,} in this file)", names, key="record", on_change=_choose_record,
                   args=("region_up" if choice.mode == "upload" else "region",))


def _dna_source(choice: Choice, path: str, stamp: tuple[float, int], soft_mask: bool) -> Source:
    """A DNA file's record or region, with the record picker drawn for a multi-record file."""
    names = record_names(path, stamp)
    wanted = parse_region(choice.region).chrom if choice.region else names[0]
    record_picker(choice, names, wanted)
    try:
        item, feats = _read_dna(path, stamp, choice.region, soft_mask)
    except RegionError as exc:
        if "unknown record" in exc.problem:
            raise unknown_record(path, wanted, names) from None
        raise
    key = _digest(item.data, path, choice.region, item.start0, item.strand)
    return Source("dna", item, key, feats, names)


@st.cache_data(show_spinner=False, max_entries=8)
def _read_audio(path: str, stamp: tuple[float, int], sample_rate: int) -> Item:
    return audio_items([path], sample_rate)[0]


def typed_item(text: str) -> Item:
    """Typed-in bases as an item (whitespace and digits ignored, as in a pasted GenBank ORIGIN)."""
    raw = "".join(c for c in text if not c.isspace() and not c.isdigit()).upper().encode("ascii", "replace")
    if not raw:
        raise FastaFormatError("typed bases", "no bases typed")
    bad = raw.translate(None, LETTERS)
    if bad:
        raise FastaFormatError("typed bases", f"invalid character {chr(bad[0])!r} (allowed: IUPAC letters)")
    return Item("typed", np.frombuffer(raw, dtype=np.uint8).copy(), "typed bases", "typed")


def load_source(choice: Choice, meta: CheckpointMetadata) -> Source:
    """The input of `choice` for a checkpoint with metadata `meta` (its modality, its convention);
    typed errors for anything wrong."""
    modality = meta.modality
    if choice.mode == "typed bases":
        kind, path = "dna", None
    elif choice.mode == "upload":
        if choice.upload is None:
            raise UsageError("upload a file (or pick another input in the sidebar)")
        path = _uploaded_path(*choice.upload)
        kind = "audio" if is_audio_file(path) else "dna"
    else:
        if not choice.path:
            raise UsageError("give a file path (or pick another input in the sidebar)")
        path = _embedded_path() if choice.path == EMBEDDED else allowed_path(choice.path)
        if not Path(path).exists():
            raise MissingInputError(path, "no such file")
        kind = "audio" if is_audio_file(path) else "dna"
    if kind != modality:
        raise UsageError(f"{choice.checkpoint}: a {modality} checkpoint cannot read {kind} input "
                         f"({path or 'typed bases'}); pick a {kind} checkpoint or a {modality} input")
    if path is None:
        item = typed_item(choice.typed)
        return Source("dna", item, _digest(item.data, "typed"))
    st_ = os.stat(path)
    stamp = (st_.st_mtime, st_.st_size)
    if kind == "audio":
        if choice.region:
            raise UsageError("a region selects DNA; it does not apply to audio")
        rate = sample_rate_of(meta)
        item = _read_audio(path, stamp, rate)
        return Source("audio", item, _digest(item.data, path, rate))
    return _dna_source(choice, path, stamp, meta.soft_mask)
