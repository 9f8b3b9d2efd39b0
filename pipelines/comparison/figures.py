"""The comparison's figures (matplotlib object API on the Agg canvas: no display, no global
pyplot state), each returned as PNG bytes for the report to write and embed."""

from __future__ import annotations

import io
import statistics
from typing import Any

from pipelines.comparison.numbers import median_curve
from pipelines.comparison.results import ComparisonResults


def figure(name: str, res: ComparisonResults) -> bytes | None:
    """PNG bytes of figure ``name`` (one of report.PNGS), or None when there is nothing to draw."""
    # matplotlib only when a figure is drawn: it takes a second to import, and the CLI imports
    # this module at every start.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    drawn = {
        "curves.png": _plot_curves,
        "curves_last_decade.png": _plot_last_decade,
        "chunks.png": _plot_chunks,
        "throughput.png": _plot_throughput,
        "multiplier.png": _plot_multiplier,
    }[name](ax, res)
    if not drawn:
        return None
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _label_log_x(ax: Any, xlabel: str, ylabel: str, title: str, legend: bool, title_size: int = 10) -> None:
    """The frame of the training-bytes panels: log x axis, labels, title, and a legend when asked."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=title_size)
    if legend:
        ax.legend(fontsize=7)


def _plot_curves(ax: Any, res: ComparisonResults) -> bool:
    any_curve = False
    for a in res.recipe.arms:
        pts = median_curve(res.arms[a.name])
        if not pts:
            continue
        any_curve = True
        xs = [p[0] for p in pts]
        (line,) = ax.plot(xs, [p[1] for p in pts], "o-", ms=3, lw=1.5, label=a.name)
        if len(res.recipe.seeds) > 1:
            ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], color=line.get_color(), alpha=0.2)
    if any_curve:  # where the learning rate starts to decay: the multiplier is read here
        ax.axvline(res.recipe.stable_end(), color="grey", ls=":", lw=1, label="end of the stable phase")
    if res.anchors is not None:
        h = res.anchors.held_out
        ax.axhline(
            h.markov.best_bpb,
            color="k",
            ls="--",
            lw=1,
            label=f"Markov k={h.markov.best_order} (all training bytes)",
        )
        seen = res.anchors.markov_on_seen_bytes
        if seen:
            ax.plot(
                [p.train_bytes for p in seen],
                [p.bpb for p in seen],
                "k:",
                marker="x",
                lw=1,
                label="Markov on the bytes seen",
            )
        ax.axhline(h.zstd, color="grey", ls="-.", lw=1, label="zstd -19")
        ax.axhline(h.xz, color="grey", ls=":", lw=1, label="xz -9e")
    _label_log_x(ax, "training bytes seen", "held-out bits per byte",
                 "Held-out bits/byte against training bytes", legend=True)
    return any_curve


def _plot_last_decade(ax: Any, res: ComparisonResults) -> bool:
    """The same curves, zoomed on the last decade of training bytes where the arms separate."""
    if not _plot_curves(ax, res):
        return False
    budget = res.recipe.budget
    ys = [
        p[1]
        for a in res.recipe.arms
        for p in median_curve(res.arms[a.name])
        if p[0] >= budget / 10
    ]
    seen = res.anchors.markov_on_seen_bytes if res.anchors is not None else []
    ys += [p.bpb for p in seen if p.train_bytes >= budget / 10]  # anchors far off stay off-scale
    if ys:
        lo, hi = min(ys), max(ys)
        pad = max(0.02, 0.1 * (hi - lo))
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(budget / 10 / 1.1, budget * 1.1)
    ax.set_title("Held-out bits/byte, last decade of training bytes", fontsize=10)
    return True


def _plot_chunks(ax: Any, res: ComparisonResults) -> bool:
    drawn = False
    for a in res.recipe.arms:
        for seed, r in res.arms[a.name].items():
            pts = [p for p in r.curve if p.compression]
            if not pts:
                continue
            for s in range(len(pts[0].compression)):
                ax.plot(
                    [p.train_bytes for p in pts],
                    [p.compression[s] for p in pts],
                    "o-",
                    ms=3,
                    label=f"{a.name} seed {seed} stage {s}",
                )
                drawn = True
    _label_log_x(ax, "training bytes seen", "positions per chunk (held-out)", "H-Net compression per stage",
                 legend=drawn)
    return drawn


def _plot_throughput(ax: Any, res: ComparisonResults) -> bool:
    names, rates = [], []
    for a in res.recipe.arms:
        vals = [r.bytes_per_s for r in res.arms[a.name].values() if r.bytes_per_s]
        if vals:
            names.append(a.name)
            rates.append(statistics.median(vals))
    if not names:
        return False
    ax.bar(names, rates, color="tab:blue")
    ax.set_ylabel("training bytes / s (median of logged steps)")
    ax.set_title("Training throughput on this machine", fontsize=10)
    return True


def _plot_multiplier(ax: Any, res: ComparisonResults) -> bool:
    drawn = False
    for e in res.efficiency:
        for seed, ms in e.curve.items():
            if not ms:
                continue
            xs = [m.reference_bytes for m in ms]
            ax.plot(
                xs,
                [m.value for m in ms],
                "o-",
                ms=3,
                label=f"{e.reference} vs {e.baseline} (seed {seed})",
            )
            low = [(x, m.value) for x, m in zip(xs, ms) if m.bound == ">"]
            if low:
                ax.scatter(*zip(*low), marker="^", s=30, color="k", zorder=3)
            drawn = True
    ax.axhline(1.0, color="k", lw=0.8)
    _label_log_x(ax, "H-Net training bytes", "baseline bytes needed / H-Net bytes",
                 "Data-efficiency multiplier (triangles: lower bounds, baseline never got there)",
                 legend=drawn, title_size=9)
    return drawn
