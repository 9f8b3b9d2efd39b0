"""The browser's inputs: checkpoint(s), the sequence or sound, and the page on screen.

The sidebar collects what the user typed (`Choice`); `load_source` turns it into a `Source` (bytes
in the checkpoint's convention plus where they sit in the user's file, via `pipelines.inputs.Item`),
raising the project's typed errors for anything wrong, which the page shows as one line.
Paging: long inputs are shown `window` bytes at a time, the offset kept in session state.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from hnet_bio.atomic import atomic_write_bytes
from hnet_bio.metadata import CheckpointMetadata
from modalities.annotations import Feature, read_annotations
from modalities.audio import AUDIO_SUFFIXES
from modalities.corpora import CORPORA, corpus_files
from modalities.errors import FastaFormatError, MissingInputError
from modalities.iupac import LETTERS
from modalities.seqio import check_file, sequence_format
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
DEFAULT_WINDOW = 2000  # bytes per screen: 2 kb of DNA, 0.25 s of 8 kHz audio
MAX_WINDOW = 20_000


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
    start_position: int | None = None  # 1-based genome coordinate to open at (start-up default)


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
    """The input widgets (sidebar); keys are stable so tests and links can drive them."""
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
    window = int(sb.number_input("Bytes per screen (DNA: bases; audio: samples)", min_value=50,
                                 max_value=MAX_WINDOW, value=DEFAULT_WINDOW, step=500, key="window"))
    sb.header("Compare")
    compare = sb.text_input("Second checkpoint (optional)", "", key="compare")
    return Choice(ckpt.strip(), compare.strip(), mode, path.strip(), region.strip(), typed, upload, window,
                  defaults.position)


def _digest(data: np.ndarray, *extra: object) -> str:
    h = hashlib.sha1(np.ascontiguousarray(data).tobytes())
    h.update(repr(extra).encode())
    return h.hexdigest()


def _embedded_path() -> str:
    return str(corpus_files(CORPORA[EMBEDDED])[0])


def _uploaded_path(name: str, data: bytes) -> str:
    """An upload as a file (the readers take paths), one folder per content so names stay."""
    folder = Path(tempfile.gettempdir()) / "hnet-bio-browse" / hashlib.sha1(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(name).name
    if not target.exists():
        atomic_write_bytes(target, data)  # two sessions uploading the same file never read half of it
    return str(target)


def is_audio_file(path: str) -> bool:
    return Path(path).suffix.lower() in AUDIO_SUFFIXES


@st.cache_data(show_spinner=False, max_entries=16)
def _read_dna(path: str, stamp: tuple[float, int], region: str,
              soft_mask: bool) -> tuple[Item, list[str], list[Feature]]:
    """(the item, record names, CDS/gene features on its record) in the checkpoint's convention
    (lower case kept for a soft-masking model); cached per file version, region and convention."""
    check_file(path)
    items = dna_items(path, [region] if region else [], soft_mask=soft_mask)
    if not items:
        raise FastaFormatError(path, "no sequence records")
    item = items[0]
    names = [it.name for it in items] if not region else [item.chrom]
    feats: list[Feature] = []
    if sequence_format(Path(path)) in ("genbank", "embl", "gff3"):
        feats = [f for f in read_annotations(path, ("CDS", "gene")) if f.record == item.chrom]
    return item, names, feats


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
        path = _embedded_path() if choice.path == EMBEDDED else os.path.expanduser(choice.path)
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
    item, names, feats = _read_dna(path, stamp, choice.region, meta.soft_mask)
    key = _digest(item.data, path, choice.region, item.start0, item.strand)
    return Source("dna", item, key, feats, names)


@dataclass(frozen=True)
class Page:
    """Bytes ``[start, start + length)`` of the source (0-based, in the model's reading order)."""

    start: int
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length


def _clamp(pos: int, window: int, total: int) -> int:
    return min(max(0, pos), max(0, total - window))


def _step(delta: int, window: int, total: int) -> None:
    st.session_state["pos"] = _clamp(int(st.session_state.get("pos", 0)) + delta, window, total)


def _jump(source: Source, window: int) -> None:
    """Move to the typed coordinate (1-based base, or seconds for audio); a warning if outside."""
    target = float(st.session_state.get("jump", 0.0))
    it = source.item
    byte = int(target * (it.sample_rate or 1)) if source.kind == "audio" else int(target) - 1 - it.start0
    if not 0 <= byte < source.length:
        st.session_state["jump_warning"] = (f"{target:g} is outside the input "
                                            f"({describe_span(source, 0, source.length)})")
        return
    st.session_state["pos"] = _clamp(byte, window, source.length)


def paging(source: Source, window: int, start_position: int | None) -> Page:
    """Previous / next / jump controls and the position on screen; the offset lives in session state
    and is moved by the buttons' callbacks, which run before the page is drawn again."""
    total = source.length
    window = max(1, min(window, total))
    if st.session_state.get("source_key") != source.key:  # a new input opens at its start (or the default)
        st.session_state["source_key"] = source.key
        start = 0
        if start_position is not None and source.kind == "dna" and source.item.strand == "+":
            start = start_position - 1 - source.item.start0
        st.session_state["pos"] = start
    pos = _clamp(int(st.session_state.get("pos", 0)), window, total)
    st.session_state["pos"] = pos
    prev_col, next_col, jump_col, go_col = st.columns([1, 1, 2, 1])
    prev_col.button("◀ previous", key="prev", disabled=pos <= 0, on_click=_step,
                    args=(-window, window, total))
    next_col.button("next ▶", key="next", disabled=pos + window >= total, on_click=_step,
                    args=(window, window, total))
    unit = "second" if source.kind == "audio" else "base (1-based)"
    jump_col.number_input(f"jump to {unit}", min_value=0.0, value=0.0, key="jump",
                          label_visibility="collapsed")
    go_col.button("jump", key="go", on_click=_jump, args=(source, window))
    warning = st.session_state.pop("jump_warning", None)
    if warning:
        st.warning(warning)
    page = Page(pos, window)
    pages = -(-total // window)
    st.markdown(f"**{source.item.name}** · showing {describe_span(source, page.start, page.end)} "
                f"of {describe_span(source, 0, total)} · screen {pos // window + 1} of {pages}")
    return page


def describe_span(source: Source, start: int, end: int) -> str:
    """A byte span in the user's coordinates: 1-based genome positions or seconds."""
    it = source.item
    if source.kind == "audio":
        sr = float(it.sample_rate or 1)
        return f"{start / sr:.2f}-{end / sr:.2f} s"
    a, b = it.forward_interval(np.array([start]), np.array([end]))
    return f"{it.chrom}:{int(a[0]) + 1:,}-{int(b[0]):,}" + (" (-)" if it.strand == "-" else "")
