"""Zero-shot scores in the DNA view: the per-base log-likelihood of the page (the `hnet-bio score
--track` numbers) and the in-silico mutagenesis heatmap of a window of at most 200 bases
(`--ism`), both from pipelines.scoring. Off until switched on: they cost a forward of the page
(the track) and 8 windows per base (the ISM).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app.compute import load_checkpoint
from pipelines.inputs import Item
from pipelines.scoring.ism import BASES, IsmResult, saturation_mutagenesis
from pipelines.scoring.likelihood import Model, PositionTrack, sequence_track
from pipelines.scoring.windows import DEFAULT_FLANK

ISM_LIMIT = 200  # bases: a heatmap still readable base by base, and a few seconds of compute
TRACK_WINDOW = 1024


def track_figure(item: Item, track: PositionTrack) -> go.Figure:
    """log2 p per base (and the predictive entropy) against 1-based genome coordinates."""
    x = item.forward_position(np.arange(item.length)) + 1
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=track.log_prob,
            mode="lines",
            name="log2 p(base | upstream)",
            line={"width": 1, "color": "#1f77b4"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=-track.entropy,
            mode="lines",
            name="- entropy of the prediction",
            line={"width": 1, "color": "#aaaaaa"},
        )
    )
    fig.update_layout(
        height=260,
        margin={"l": 40, "r": 10, "t": 30, "b": 30},
        yaxis_title="bits",
        title=f"per-base log-likelihood, mean {np.nanmean(track.log_prob):.3f} bits/base",
    )
    return fig


def ism_figure(item: Item, res: IsmResult) -> go.Figure:
    """The ISM matrix (delta bits, strand mean) as a heatmap: bases x 1-based genome positions."""
    x = item.forward_position(np.arange(res.start, res.start + res.delta.shape[0])) + 1
    lim = float(np.nanmax(np.abs(res.delta))) if np.isfinite(res.delta).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=res.delta.T,
            x=x,
            y=list(BASES),
            zmin=-lim,
            zmax=lim,
            colorscale="RdBu_r",
            colorbar={"title": "bits"},
        )
    )
    fig.update_layout(
        height=240,
        margin={"l": 40, "r": 10, "t": 30, "b": 30},
        title="ISM: delta log-likelihood of each SNV (blue: less likely than the reference)",
    )
    return fig


@st.cache_data(show_spinner=False, max_entries=16)
def _track(_model: Model, model_key: str, data: bytes) -> PositionTrack:
    return sequence_track(_model, np.frombuffer(data, dtype=np.uint8), TRACK_WINDOW, TRACK_WINDOW * 3 // 4)


def render(item: Item, key: str) -> None:
    """The expander below the DNA tracks (needs the sidebar's checkpoint, ``ckpt``)."""
    with st.expander("Zero-shot scores: per-base log-likelihood and in-silico mutagenesis"):
        on = st.toggle(
            "compute the scores of this page",
            key=f"{key}-score-on",
            help="Per-base log2 p and an ISM heatmap (hnet-bio score), computed when switched on.",
        )
        if not on:
            return
        ckpt = load_checkpoint(str(st.session_state.get("ckpt", "")))
        track = _track(ckpt.model, ckpt.key, item.data.tobytes())
        st.plotly_chart(track_figure(item, track), key=f"{key}-score-track")
        n = item.length
        lo = int(
            st.number_input(
                "ISM window start (offset in the page, bases)",
                0,
                max(0, n - 1),
                min(DEFAULT_FLANK, max(0, n - 1)),
                key=f"{key}-ism-start",
            )
        )
        width = int(
            st.number_input(f"ISM window length (<= {ISM_LIMIT})", 1, ISM_LIMIT, 50, key=f"{key}-ism-len")
        )
        hi = min(n, lo + width)
        if st.button("run ISM", key=f"{key}-ism-run"):
            res = saturation_mutagenesis(ckpt.model, {"page": item.data}, "page", lo, hi)
            st.plotly_chart(ism_figure(item, res), key=f"{key}-ism")
            skipped = sum(s != "ok" for s in res.statuses)
            if skipped:
                st.markdown(
                    f"{skipped} positions lack {DEFAULT_FLANK} bases of context on the page and are blank."
                )
