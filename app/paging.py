"""Which bytes are on screen: previous / next / jump, and the position said in the user's terms.

The offset lives in session state (one per browser session) and is moved by the buttons'
callbacks, which run before the page is drawn again. A new input opens at its first byte (its
region's start), unless it is the start-up input with a start position (`hnet-bio browse` with no
arguments: the gene-rich stretch of the embedded genome).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from app.inputs import Source


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


def jump_key(source: Source) -> str:
    """The jump box's key: an integer base for DNA, seconds for audio (two widgets, two types)."""
    return "jump_s" if source.kind == "audio" else "jump"


def _jump(source: Source, window: int) -> None:
    """Move to the typed coordinate (1-based base, or seconds for audio); a warning if outside."""
    target = st.session_state.get(jump_key(source), 0)
    it = source.item
    byte = int(target * (it.sample_rate or 1)) if source.kind == "audio" else int(target) - 1 - it.start0
    if not 0 <= byte < source.length:
        st.session_state["jump_warning"] = (f"{target:,} is outside the input "
                                            f"({describe_span(source, 0, source.length)})")
        return
    st.session_state["pos"] = _clamp(byte, window, source.length)


def opening_offset(source: Source, start_position: int | None) -> int:
    """Where a newly opened input starts: byte 0, or the 1-based start position (start-up input only)."""
    if start_position is None or source.kind != "dna" or source.item.strand != "+":
        return 0
    return start_position - 1 - source.item.start0


def paging(source: Source, window: int, start_position: int | None) -> Page:
    """Previous / next / jump controls and the position on screen (see the module docstring)."""
    total = source.length
    window = max(1, min(window, total))
    if st.session_state.get("source_key") != source.key:  # a new input: its start (or the start-up spot)
        st.session_state["source_key"] = source.key
        st.session_state["pos"] = opening_offset(source, start_position)
    pos = _clamp(int(st.session_state.get("pos", 0)), window, total)
    st.session_state["pos"] = pos
    prev_col, next_col, jump_col, go_col = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
    prev_col.button("◀ previous", key="prev", disabled=pos <= 0, on_click=_step,
                    args=(-window, window, total))
    next_col.button("next ▶", key="next", disabled=pos + window >= total, on_click=_step,
                    args=(window, window, total))
    if source.kind == "audio":
        jump_col.number_input("jump to second", min_value=0.0, value=0.0, step=0.1, format="%.2f",
                              key=jump_key(source))
    else:
        first = source.item.start0 + 1  # the input's first base (a region's start), in genome coordinates
        jump_col.number_input("jump to base (1-based genome coordinate)", min_value=1, value=first, step=1,
                              format="%d", key=jump_key(source))
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
