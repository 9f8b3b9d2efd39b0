"""The audio view: waveform and spectrogram with chunk boundaries as vertical lines (seconds), the
boundary probability, playback of the clip on screen, and per stage the chunk lengths in ms.

The waveform is the model's own input decoded (8-bit mu-law at the checkpoint's rate), so what
one hears and sees is exactly what the boundaries were computed on.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from app.dna_view import STAGE_COLORS, SUMMARY_BINS, binned_track, chunk_lengths, vlines
from app.inputs import Source
from app.paging import Page
from modalities.audio import mu_law_decode
from pipelines.analysis import Analysis
from pipelines.analysis.chunk_summary import summarize

N_FFT = 256
HOP = 32
DETAIL_MAX_S = 0.1  # seconds a screen drawn boundary by boundary (~4 px apart at 0.5 ms chunks)


def spectrogram_db(wave: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """(n_fft // 2 + 1, frames) power in dB (Hann window, centred frames)."""
    n_fft = min(n_fft, max(8, wave.size))
    spec = torch.stft(torch.from_numpy(wave.astype(np.float32)), n_fft, hop_length=hop,
                      window=torch.hann_window(n_fft), center=True, return_complex=True)
    return (10 * torch.log10(spec.abs().pow(2) + 1e-10)).numpy()


def bin_ms(seconds: float, bins: int = SUMMARY_BINS) -> int:
    """Milliseconds per bin for a screen of ``seconds``: the smallest of 1, 2, 5, 10, 20, 50, ...
    giving at most ``bins`` bins."""
    width = 1
    while seconds * 1000 / width > bins:
        width = width * 5 // 2 if str(width)[0] == "2" else width * 2
    return width


def _detail_lines(fig: go.Figure, a: Analysis, t: np.ndarray, sr: float) -> None:
    """Each boundary as a vertical line on the waveform and the spectrogram; probability per sample."""
    for s in range(a.num_stages):
        where = t[a.boundary[s]]
        color = "rgba(80,80,80,0.35)" if s == 0 else STAGE_COLORS[s % 3]
        for row, (y0, y1) in ((1, (-1, 1)), (2, (0, sr / 2))):
            xs, ys = vlines(where, y0, y1)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"stage {s} boundaries",
                                     legendgroup=f"b{s}", showlegend=row == 1,
                                     line={"color": color if row == 1 or s else "rgba(255,255,255,0.25)",
                                           "width": 1 + s}, hoverinfo="skip"), row=row, col=1)
        p = a.boundary_prob[s]
        ok = ~np.isnan(p)
        fig.add_trace(go.Scatter(x=t[ok], y=p[ok], mode="lines", name=f"stage {s} p",
                                 line={"color": STAGE_COLORS[s % 3], "width": 1},
                                 hovertemplate="%{x:.4f} s: p=%{y:.3f}<extra></extra>"), row=3, col=1)


def _summary_bins(fig: go.Figure, a: Analysis, t: np.ndarray, sr: float, ms: int) -> None:
    """Per bin of ``ms`` milliseconds: the fraction of samples that start a chunk (bars) and the
    mean probability (line), both on the probability's 0-1 scale."""
    width = max(1, round(ms * sr / 1000))
    for s in range(a.num_stages):
        starts, count = binned_track(a.boundary[s], width, "sum")
        size = np.diff(np.append(starts, a.length))
        centre = t[starts] + (size - 1) / (2 * sr)
        fig.add_trace(go.Bar(x=centre, y=count / size, width=size / sr * 0.9,
                             name=f"stage {s}: fraction of samples cut ({ms} ms bins)",
                             marker_color=STAGE_COLORS[s % 3], opacity=0.45 if s == 0 else 0.9,
                             customdata=count, hovertemplate="%{x:.3f} s: %{customdata:.0f} boundaries"
                                                             "<extra>stage " + str(s) + "</extra>"),
                      row=3, col=1)
        _, mean = binned_track(a.boundary_prob[s], width)
        fig.add_trace(go.Scatter(x=centre, y=mean, mode="lines+markers", marker={"size": 4},
                                 name=f"stage {s} p (mean per {ms} ms bin)",
                                 line={"color": STAGE_COLORS[s % 3], "width": 1.5},
                                 hovertemplate="%{x:.3f} s: mean p=%{y:.3f}<extra></extra>"), row=3, col=1)
    fig.update_layout(barmode="overlay", bargap=0)


def audio_figure(source: Source, page: Page, a: Analysis, title: str = "") -> go.Figure:
    """Waveform, spectrogram and probability; up to `DETAIL_MAX_S` a screen each boundary as a line
    (stage 0 grey, inner stages coloured), beyond it (a grey wall of lines) per-bin summaries."""
    sr = float(source.item.sample_rate or 1)
    wave = mu_law_decode(source.item.data[page.start : page.end])
    t = (page.start + np.arange(wave.size)) / sr
    detail = wave.size <= DETAIL_MAX_S * sr
    ms = bin_ms(wave.size / sr)
    titles = (("waveform and chunk boundaries", "spectrogram", "boundary probability") if detail else
              ("waveform", "spectrogram",
               f"chunk boundaries per {ms} ms bin: fraction of samples cut and mean probability "
               f"(each boundary drawn at {DETAIL_MAX_S * 1000:.0f} ms a screen or less)"))
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.3, 0.4, 0.3],
                        subplot_titles=titles)
    fig.add_trace(go.Scatter(x=t, y=wave, mode="lines", name="waveform",
                             line={"color": "#1f4e79", "width": 1},
                             hovertemplate="%{x:.4f} s: %{y:.3f}<extra></extra>"), row=1, col=1)
    db = spectrogram_db(wave)
    frames = page.start / sr + np.arange(db.shape[1]) * HOP / sr
    freqs = np.arange(db.shape[0]) * sr / (2 * (db.shape[0] - 1))
    fig.add_trace(go.Heatmap(x=frames, y=freqs, z=db, colorscale="Viridis", showscale=False,
                             name="spectrogram",
                             hovertemplate="%{x:.3f} s, %{y:.0f} Hz: %{z:.0f} dB<extra></extra>"),
                  row=2, col=1)
    if detail:
        _detail_lines(fig, a, t, sr)
    else:
        _summary_bins(fig, a, t, sr, ms)
    fig.add_hline(y=0.5, line_dash="dash", line_color="grey", row=3, col=1)
    fig.update_yaxes(range=[-1.05, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="Hz", row=2, col=1)
    fig.update_yaxes(range=[-0.02, 1.02], row=3, col=1)
    fig.update_xaxes(title_text="time (s)", row=3, col=1)
    fig.update_layout(height=660, margin={"l": 40, "r": 10, "t": 100, "b": 40}, title=title or None,
                      legend={"orientation": "h", "y": 1.06, "yanchor": "bottom", "x": 1, "xanchor": "right",
                              "traceorder": "normal", "bgcolor": "rgba(255,255,255,0)"})
    return fig


def render(source: Source, page: Page, a: Analysis, target: list[float], key: str = "main",
           title: str = "", details: bool = True, whole: Analysis | None = None) -> go.Figure:
    """The whole audio view of one checkpoint's analysis of the page; returns the figure."""
    fig = audio_figure(source, page, a, title)
    st.plotly_chart(fig, key=f"{key}-tracks", config={"scrollZoom": True})
    if not details:
        return fig
    sr = int(source.item.sample_rate or 1)
    st.audio(mu_law_decode(source.item.data[page.start : page.end]), sample_rate=sr)
    ms = 1000.0 / sr
    summary = summarize([a], target, sr)
    cols = st.columns(max(1, len(summary)))
    for col, row in zip(cols, summary):
        s = row.stage
        col.metric(f"stage {s}: mean ms per chunk", f"{row.mean_bytes * ms:.2f}",
                   f"{(row.mean_bytes - row.target_bytes) * ms:+.2f} vs target "
                   f"{row.target_bytes * ms:.2f} ms", delta_color="off")
        lengths = chunk_lengths(a, s)
        one_sample = {"start": 0.5 * ms, "size": ms} if lengths.max(initial=1) < 200 else None
        hist = go.Figure(go.Histogram(x=lengths * ms, xbins=one_sample, marker_color=STAGE_COLORS[s % 3]))
        hist.add_vline(x=row.target_bytes * ms, line_dash="dash", annotation_text="target")
        hist.update_layout(height=260, margin={"l": 30, "r": 10, "t": 30, "b": 30},
                           title=f"stage {s}: {row.chunks:,} chunks, median {row.median_bytes * ms:.2f} ms",
                           xaxis_title="chunk length (ms)")
        col.plotly_chart(hist, key=f"{key}-hist{s}")
    return fig
