"""The DNA view: bases with per-stage chunk boundaries, the boundary probability, GC content and
annotated CDS/genes on one shared axis (genome coordinates, 1-based), then per stage the chunk
lengths against the target and the boundary rate around CDS starts and stops.

Up to `DETAIL_MAX` bases per screen the tracks are per base (a coloured base, a tick per boundary,
a probability per base: a few pixels each on a laptop screen); beyond it one tick per base would
be a barcode and the probability a scribble, so the figure shows the same numbers per bin (about
100 bins a screen): boundaries per 100 bases and the mean probability. The text view below keeps
every base either way.

Every number comes from the `Analysis` of the page (pipelines.analysis) and from
pipelines.analysis.chunk_summary.summarize / pipelines.analysis.boundary_stats.annotation_stats,
the functions `hnet-bio boundaries` reports with.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app import scoring_view
from app.inputs import Source
from app.paging import Page
from modalities.annotations import Feature
from pipelines.analysis import Analysis
from pipelines.analysis.boundary_stats import MODEL, AnnotationStats, annotation_stats
from pipelines.analysis.chunk_summary import summarize
from pipelines.inputs import Item

BASE_CODES = {ord("A"): 0, ord("C"): 1, ord("G"): 2, ord("T"): 3}
BASE_COLORS = ["#3a9a3a", "#3060c0", "#e0a020", "#d03030", "#999999"]  # A C G T other
BASE_NAMES = ["A", "C", "G", "T", "other (N, IUPAC)"]
DETAIL_MAX = 400  # bases per screen drawn base by base (>= 3 px a base on a 1,300 px figure)
SUMMARY_BINS = 100  # about this many bins a screen when zoomed out
STAGE_COLORS = ["#222222", "#d62728", "#1f77b4"]
GC_WINDOW = 50
TEXT_LIMIT = 3000  # bases shown as text; beyond this the plot alone (zoom) is readable
FLANK = 100
METAPLOT_BIN = 9  # bp per metaplot bin (a multiple of 3: codon phases weigh the same in every bin)


def page_item(source: Source, page: Page) -> Item:
    """The page as an Item in genome coordinates (what the BED writer and the statistics take)."""
    it = source.item
    data = it.data[page.start : page.end]
    if it.strand == "-":
        return Item(it.name, data, it.source, it.chrom, it.end0 - page.end, "-")
    return Item(it.name, data, it.source, it.chrom, it.start0 + page.start, "+")


def gc_track(data: np.ndarray, width: int = GC_WINDOW) -> np.ndarray:
    """(L,) float: fraction of G/C/S in a centred window of ``width`` bases (shorter at the ends)."""
    gc = np.isin(data, np.frombuffer(b"GCSgcs", dtype=np.uint8)).astype(np.float64)
    ones = np.ones(min(width, max(1, gc.size)))
    return np.convolve(gc, ones, "same") / np.convolve(np.ones_like(gc), ones, "same")


def feature_lanes(features: list[Feature], lo: int, hi: int) -> Iterator[tuple[Feature, float, str]]:
    """The features overlapping 1-based [lo, hi], each with its lane (+ strand 0.5, - strand -0.5,
    genes 0.2 above their CDS) and colour (CDS green, others grey)."""
    for f in features:
        if f.end0 < lo or f.start0 + 1 > hi:
            continue
        y = {"+": 0.5, "-": -0.5}.get(f.strand, 0.0) + (0.2 if f.type == "gene" else 0.0)
        yield f, y, "#2ca02c" if f.type == "CDS" else "#8c8c8c"


def vlines(x: np.ndarray, y0: float, y1: float) -> tuple[list, list]:
    """One plotly trace's x and y lists drawing a vertical segment y0..y1 at each x (None breaks the line)."""
    xs, ys = [], []
    for v in x.tolist():
        xs += [v, v, None]
        ys += [y0, y1, None]
    return xs, ys


def summary_bin(length: int, bins: int = SUMMARY_BINS) -> int:
    """Bases per bin for a screen of ``length`` bases: the smallest of 1, 2, 5, 10, 20, 50, ...
    giving at most ``bins`` bins (round numbers, so bin edges read as coordinates)."""
    width = 1
    while -(-length // width) > bins:
        width = width * 5 // 2 if str(width)[0] == "2" else width * 2
    return width


def binned_track(values: np.ndarray, width: int, how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(first index of each bin, the mean or sum of each bin) of an (L,) track in bins of ``width``
    (the last bin may be shorter; NaNs ignored in means)."""
    starts = np.arange(0, values.size, width)
    if how == "sum":
        return starts, np.add.reduceat(values.astype(np.float64), starts)
    ok = ~np.isnan(values)
    sums = np.add.reduceat(np.where(ok, values, 0.0), starts)
    counts = np.add.reduceat(ok.astype(np.float64), starts)
    return starts, np.divide(sums, counts, out=np.full(starts.size, np.nan), where=counts > 0)


def _detail_tracks(fig: go.Figure, item: Item, a: Analysis, x: np.ndarray) -> None:
    """Rows 1-2 base by base: coloured bases with boundary ticks (legend of the base colours), and
    the probability per base."""
    data = item.data
    codes = np.array([BASE_CODES.get(int(b) & 0xDF, 4) for b in data.tolist()])
    letters = data.tobytes().decode("ascii")
    p0 = a.boundary_prob[0] if a.num_stages else np.full(item.length, np.nan)
    hover = np.stack([list(letters), np.round(p0, 3)], axis=-1)
    scale = [[i / 4, c] for i, c in enumerate(BASE_COLORS)]
    fig.add_trace(go.Heatmap(x=x, y=[0], z=[codes], zmin=0, zmax=4, colorscale=scale, showscale=False,
                             customdata=[hover], name="bases",
                             hovertemplate="%{x:,}: %{customdata[0]} p=%{customdata[1]}<extra></extra>"),
                  row=1, col=1)
    for name, color in zip(BASE_NAMES, BASE_COLORS):  # legend entries only: the colours of the bases
        square = {"symbol": "square", "size": 11, "color": color}
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"base {name}",
                                 legendgroup="bases", marker=square), row=1, col=1)
    for s in range(a.num_stages):
        half = 0.5 - 0.12 * s  # inner stages: shorter, coloured ticks nested inside the outer ones
        xs, ys = vlines(x[a.boundary[s]] - 0.5, -half, half)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"stage {s} boundaries",
                                 line={"color": STAGE_COLORS[s % 3], "width": 1 + s}, hoverinfo="skip"),
                      row=1, col=1)
        p = a.boundary_prob[s]
        ok = ~np.isnan(p)
        fig.add_trace(go.Scatter(x=x[ok], y=p[ok], mode="lines+markers", name=f"stage {s} p",
                                 line={"color": STAGE_COLORS[s % 3], "width": 1}, marker={"size": 3},
                                 hovertemplate="%{x:,}: p=%{y:.3f}<extra>stage " + str(s) + "</extra>"),
                      row=2, col=1)
    fig.update_yaxes(showticklabels=False, range=[-0.6, 0.6], row=1, col=1)


def _summary_tracks(fig: go.Figure, a: Analysis, x: np.ndarray, width: int) -> None:
    """Rows 1-2 per bin of ``width`` bases: boundaries per 100 bases and the mean probability."""
    step = -1 if x.size > 1 and x[1] < x[0] else 1  # minus strand: coordinates run backwards
    for s in range(a.num_stages):
        starts, count = binned_track(a.boundary[s], width, "sum")
        size = np.diff(np.append(starts, a.length))
        centre = x[starts] + step * (size - 1) / 2
        lo, hi = x[starts], x[starts + size - 1]
        fig.add_trace(go.Bar(x=centre, y=100 * count / size, width=size * 0.9, name=f"stage {s} boundaries "
                             f"per 100 bases ({width}-base bins)", marker_color=STAGE_COLORS[s % 3],
                             opacity=1.0 if s else 0.55, customdata=np.stack([lo, hi, count], axis=-1),
                             hovertemplate="%{customdata[0]:,}-%{customdata[1]:,}: %{customdata[2]:.0f} "
                                           "boundaries<extra>stage " + str(s) + "</extra>"),
                      row=1, col=1)
        _, mean = binned_track(a.boundary_prob[s], width)
        fig.add_trace(go.Scatter(x=centre, y=mean, mode="lines+markers", marker={"size": 4},
                                 name=f"stage {s} p (mean per {width}-base bin)",
                                 line={"color": STAGE_COLORS[s % 3], "width": 1.5, "shape": "spline"},
                                 hovertemplate="%{x:,}: mean p=%{y:.3f}<extra>stage " + str(s) + "</extra>"),
                      row=2, col=1)
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_yaxes(title_text="per 100 b", rangemode="tozero", row=1, col=1)


def dna_figure(item: Item, a: Analysis, features: list[Feature], title: str = "") -> go.Figure:
    """Tracks over the page: bases + boundaries (per bin beyond `DETAIL_MAX` bases), probability
    (0.5 line), GC, features."""
    x = item.forward_position(np.arange(item.length)) + 1  # 1-based genome coordinate of each byte
    detail = item.length <= DETAIL_MAX
    width = summary_bin(item.length)
    titles = ("bases and chunk boundaries", "boundary probability") if detail else (
        f"chunk boundaries per 100 bases ({width}-base bins; base by base at {DETAIL_MAX} bases per "
        "screen or fewer)", f"boundary probability (mean per {width}-base bin)")
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        row_heights=[0.22, 0.34, 0.2, 0.24],
                        subplot_titles=(*titles, "GC content", "CDS / genes"))
    if detail:
        _detail_tracks(fig, item, a, x)
    else:
        _summary_tracks(fig, a, x, width)
    fig.add_hline(y=0.5, line_dash="dash", line_color="grey", row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=gc_track(item.data), mode="lines", name=f"GC ({GC_WINDOW} bp)",
                             line={"color": "#7a5195", "width": 1},
                             hovertemplate="%{x:,}: GC %{y:.2f}<extra></extra>"), row=3, col=1)
    _feature_track(fig, features, int(x.min()), int(x.max()))
    fig.update_yaxes(range=[-0.02, 1.02], row=2, col=1)
    fig.update_yaxes(range=[0, 1], row=3, col=1)
    fig.update_yaxes(range=[-1, 1], tickvals=[-0.5, 0.5], ticktext=["-", "+"], row=4, col=1)
    if item.strand == "-":
        fig.update_xaxes(autorange="reversed")
    fig.update_xaxes(title_text=f"{item.chrom} (1-based)", row=4, col=1)
    # One legend row above the first panel's title ("normal" order: grouped entries would stack
    # into a column whose background hides part of the bases)
    fig.update_layout(height=660, margin={"l": 40, "r": 10, "t": 100, "b": 40}, title=title or None,
                      legend={"orientation": "h", "y": 1.06, "yanchor": "bottom", "x": 1, "xanchor": "right",
                              "traceorder": "normal", "bgcolor": "rgba(255,255,255,0)"}, hovermode="x")
    return fig


def _feature_track(fig: go.Figure, features: list[Feature], lo: int, hi: int) -> None:
    """Row 4: CDS and genes on 1-based [lo, hi], on their strand, an arrow head at the 3' end."""
    for f, y, color in feature_lanes(features, lo, hi):
        a0, a1 = max(f.start0 + 1, lo), min(f.end0, hi)
        fig.add_trace(go.Scatter(x=[a0, a1, a1, a0, a0], y=[y - 0.12, y - 0.12, y + 0.12, y + 0.12, y - 0.12],
                                 fill="toself", mode="lines", line={"color": color, "width": 1},
                                 showlegend=False, hoverinfo="text",
                                 text=f"{f.type} {f.name} {f.start0 + 1:,}-{f.end0:,} ({f.strand})"),
                      row=4, col=1)
        tip = f.end0 if f.strand == "+" else f.start0 + 1
        if lo <= tip <= hi and f.strand in "+-":
            fig.add_trace(go.Scatter(x=[tip], y=[y], mode="markers", showlegend=False, hoverinfo="skip",
                                     marker={"symbol": f"triangle-{'right' if f.strand == '+' else 'left'}",
                                             "size": 10, "color": color}), row=4, col=1)


def sequence_html(item: Item, a: Analysis, limit: int = TEXT_LIMIT, line: int = 100) -> str:
    """The bases as text: stage-0 chunks in alternating shades, inner-stage cuts as coloured bars."""
    n = min(item.length, limit)
    letters = item.data[:n].tobytes().decode("ascii")
    x = item.forward_position(np.arange(n)) + 1
    chunk = a.chunk_index[0][:n] if a.num_stages else np.zeros(n, dtype=np.int64)
    out = ['<div class="hnet-seq" style="font-family:monospace;font-size:13px;line-height:1.6">']
    for r in range(0, n, line):
        out.append(f'<div><span style="color:#888">{int(x[r]):>10,} </span>')
        for i in range(r, min(r + line, n)):
            bars = "".join(f'<b style="color:{STAGE_COLORS[s % 3]}">|</b>' for s in range(1, a.num_stages)
                           if a.boundary[s][i])
            shade = "#e8e8e8" if chunk[i] % 2 else "#ffffff"
            cut = "border-left:1px solid #555;" if a.num_stages and a.boundary[0][i] else ""
            out.append(f'{bars}<span style="background:{shade};{cut}">{html.escape(letters[i])}</span>')
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def chunk_lengths(a: Analysis, stage: int) -> np.ndarray:
    starts, ends = a.chunk_bounds(stage)
    return ends - starts


def render_stats(item: Item, a: Analysis, features: list[Feature], target: list[float], key: str,
                 whole: tuple[Item, Analysis] | None = None) -> None:
    """Per stage: chunk-length histogram, mean bytes per chunk vs target (this screen); the CDS
    start/stop metaplot over the whole input once it has been analysed (``whole``), else this screen."""
    summary = summarize([a], target, None)
    cols = st.columns(max(1, len(summary)))
    for col, row in zip(cols, summary):
        s = row.stage
        col.metric(f"stage {s}: mean bytes per chunk", f"{row.mean_bytes:.2f}",
                   f"{row.mean_bytes - row.target_bytes:+.2f} vs target {row.target_bytes:.1f}",
                   delta_color="off")
        lengths = chunk_lengths(a, s)
        one_base = {"start": 0.5, "size": 1} if lengths.max(initial=1) < 200 else None
        hist = go.Figure(go.Histogram(x=lengths, xbins=one_base,
                                      marker_color=STAGE_COLORS[s % 3]))
        hist.add_vline(x=row.target_bytes, line_dash="dash", annotation_text="target")
        hist.update_layout(height=260, margin={"l": 30, "r": 10, "t": 30, "b": 30},
                           title=f"stage {s}: {row.chunks:,} chunks, median {row.median_bytes:.0f} bytes",
                           xaxis_title="chunk length (bases)")
        col.plotly_chart(hist, key=f"{key}-hist{s}")
    cds = [f for f in features if f.type == "CDS"]
    if not cds:
        st.info("CDS metaplot: this input has no CDS annotations (open a GenBank or GFF3 file to see "
                "the boundary rate around CDS starts and stops).")
        return
    where = "genes on this screen"
    if whole is not None:
        (item, a), where = whole, "genes of the whole input"
    stats = annotation_stats([item], {MODEL: [a.boundary]}, cds, flank=FLANK)
    st.plotly_chart(metaplot_figure(stats, where), key=f"{key}-metaplot")
    st.caption(f"Binned: each point is the mean boundary rate over {METAPLOT_BIN} bp of offsets (three "
               "codons, so every codon phase weighs the same); per-offset rates from a few genes are "
               "mostly noise.")
    if whole is None:
        st.caption("Few genes fit on one screen: switch on Export → whole input to draw the metaplot "
                   "over every gene of the input.")


def binned(rate: np.ndarray, width: int = METAPLOT_BIN) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, mean rate per bin) of a per-offset rate over -F..F; the centre bin holds offset 0."""
    flank = (rate.size - 1) // 2
    offsets = np.arange(-flank, flank + 1)
    idx = np.floor((offsets + width // 2) / width).astype(np.int64)
    keys = np.unique(idx)
    return keys * width, np.array([rate[idx == k].mean() for k in keys])


def metaplot_figure(stats: AnnotationStats, where: str = "") -> go.Figure:
    """Boundary rate per kb around CDS starts / stops (model vs fixed grid vs random), in bins of
    `METAPLOT_BIN` bp so that a handful of genes still gives a readable profile."""
    stages = stats.stages
    fig = make_subplots(rows=len(stages), cols=2, shared_yaxes=True,
                        subplot_titles=[f"stage {st_.stage}: {w}" for st_ in stages
                                        for w in ("around CDS starts", "around CDS stops")])
    for r, st_ in enumerate(stages, start=1):
        for c in (1, 2):
            for name, seg in st_.segmentations.items():
                rate, n = seg.metaplot(at_start=c == 1)
                x, y = binned(np.asarray(rate))
                fig.add_trace(go.Scatter(x=x, y=1000 * y, mode="lines+markers", marker={"size": 4},
                                         name=f"{name} (n={n})", legendgroup=name,
                                         showlegend=(r == 1 and c == 1),
                                         line={"width": 1.5 if name == MODEL else 0.8}), row=r, col=c)
    fig.update_xaxes(title_text="offset (bp, gene orientation; 0 = first base of start / last of stop)")
    fig.update_yaxes(title_text=f"boundaries per kb ({METAPLOT_BIN} bp bin mean)", col=1)
    fig.update_layout(height=300 * len(stages), margin={"l": 40, "r": 10, "t": 40, "b": 40},
                      title=f"Chunk boundary rate around CDS starts and stops ({where}; "
                            f"{METAPLOT_BIN} bp bins)")
    return fig


def render(source: Source, page: Page, a: Analysis, target: list[float], key: str = "main",
           title: str = "", details: bool = True, whole: Analysis | None = None) -> go.Figure:
    """The whole DNA view of one checkpoint's analysis of the page; returns the track figure."""
    item = page_item(source, page)
    fig = dna_figure(item, a, source.features, title)
    st.plotly_chart(fig, key=f"{key}-tracks", config={"scrollZoom": True})
    if details:
        more = f" (first {TEXT_LIMIT:,} bases)" if item.length > TEXT_LIMIT else ""
        with st.expander("Sequence with chunk boundaries" + more, expanded=True):
            st.html(sequence_html(item, a))
        render_stats(item, a, source.features, target, key,
                     None if whole is None else (source.item, whole))
        scoring_view.render(item, key)
    return fig
