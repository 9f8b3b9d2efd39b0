"""The comparison report: results.json (every number), report.md, a self-contained report.html
(plots embedded as base64 PNGs) and the PNGs, rebuilt from the run directories each time."""

from __future__ import annotations

import base64
import html
import re
import statistics
import sys
from pathlib import Path

from hnet_bio.atomic import atomic_write, atomic_write_json, atomic_write_text
from pipelines.comparison import numbers as nb
from pipelines.comparison.compare_dir import CompareManifest
from pipelines.comparison.efficiency import Multiplier
from pipelines.comparison.figures import figure
from pipelines.comparison.results import ComparisonResults, Efficiency, Reading
from pipelines.units import human_bytes

PNGS = ("curves.png", "curves_last_decade.png", "chunks.png", "throughput.png", "multiplier.png")


def write_report(out: Path, manifest: CompareManifest, verbose: bool = True) -> ComparisonResults:
    """results.json, report.md, report.html and the PNGs of ``out``; returns what results.json holds."""
    res = nb.gather(out, manifest, verbose)
    figures = {name: figure(name, res) for name in PNGS}
    for name, png in figures.items():
        if png is not None:
            with atomic_write(out / name) as fh:
                fh.write(png)
    atomic_write_json(out / "results.json", res.to_json())
    md = markdown(res, [n for n, p in figures.items() if p is not None])
    atomic_write_text(out / "report.md", md)
    atomic_write_text(out / "report.html", to_html(md, figures))
    if verbose:
        print(f"compare: report written to {out / 'report.md'} and {out / 'report.html'}", file=sys.stderr)
        print(headline(res), flush=True)
    return res


# --------------------------------------------------------------------------- text

_BOUND_WORD = {"=": "", ">": "more than ", "<": "at most ", "mixed": ""}
_BOUND_MARK = {"=": "", ">": "> ", "<": "<= ", "mixed": "~"}


def _short(m: Multiplier) -> str:
    return _BOUND_MARK[m.bound] + f"{m.value:.2f}"


def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def headline(res: ComparisonResults) -> str:
    lines = []
    for e in res.efficiency:
        # the two-way reading before the decay where there is one; else at the end; else one way
        reading = e.stable or e.end
        sp = e.spread if reading is None else reading.spread
        where = "" if reading is None else (" at the end of the stable phase" if reading is e.stable
                                            else " at the end")
        rng = f" (seeds: {sp.min:.2f}-{sp.max:.2f}x)" if sp.n > 1 else ""
        lines.append(f"{e.reference} vs {e.baseline}: data-efficiency multiplier "
                     f"{_BOUND_WORD[sp.bound]}{sp.median:.2f}x{rng}{where}")
    if res.anchors is not None:
        best = res.anchors.held_out.markov.best_bpb
        finals = [r.final_bpb for r in res.runs() if r.final_bpb is not None]
        if finals and min(finals) >= best:
            lines.append(
                f"no neural arm beats the best Markov model ({best:.4f} bits/byte) on these held-out bytes"
            )
    return "\n".join(lines)


def markdown(res: ComparisonResults, pngs: list[str]) -> str:
    """report.md: the setting, the multipliers, the bits/byte table, anchors, extra sets, figures."""
    lines = (_setting_lines(res) + _reading_lines(res) + _efficiency_lines(res) + _bpb_lines(res)
             + _interval_lines(res) + _anchor_lines(res))
    lines += _extra_eval_lines(res)
    lines += ["", "## Figures", ""] + [f"![{p}]({p})" for p in pngs]
    return "\n".join(lines + _reproduce_lines(res))


def _setting_lines(res: ComparisonResults) -> list[str]:
    r = res.recipe
    train = r.train_config(0)
    data = r.data.corpus
    lines = [
        f"# H-Net data-efficiency comparison on {data if isinstance(data, str) else ', '.join(data)}",
        "",
    ]
    if not res.complete:
        lines += [
            "**Partial report**: some arms have not finished; every number below is from the "
            "evaluations that exist so far.",
            "",
        ]
    lines += [
        f"{len(r.arms)} arms x {len(r.seeds)} seed(s) {r.seeds}, {human_bytes(r.budget)} "
        f"({r.budget:,} bytes) of training per arm, windows of {train.seq_len} bytes, "
        f"{r.step_bytes():,} bytes per step, the same windows in the same order for every arm; "
        f"held-out bits/byte on {train.eval_windows} fixed windows of the eval split, "
        f"at {len(r.eval_points())} log-spaced training-byte counts. The learning rate is constant "
        f"from step {train.warmup_steps} to the end of the stable phase after "
        f"{human_bytes(r.stable_end())} ({r.stable_end():,} bytes), then decays over the last "
        f"{train.decay_fraction:.0%} of the steps.",
        "",
    ]
    return lines


def _reading_lines(res: ComparisonResults) -> list[str]:
    """The multiplier read both ways, before the decay (the paper's reading) and at the end."""
    rows: list[tuple[Efficiency, Reading, str]] = [
        (e, e.stable, "end of the stable phase") for e in res.efficiency if e.stable is not None]
    rows += [(e, e.end, "end of training (after the decay)") for e in res.efficiency if e.end is not None]
    if not rows:
        return []
    lines = [
        "## Data efficiency, read both ways",
        "",
        "Baseline bytes / H-Net bytes for the same held-out bits/byte, read where both curves have an "
        "evaluation: when the H-Net is ahead there, that byte count over the bytes the H-Net needed to "
        "reach the baseline's value; when it is behind, the bytes the baseline needed to reach the "
        "H-Net's value over that count. Above 1: the H-Net needs fewer bytes. Gap: baseline minus "
        "H-Net bits/byte there, with a 95% paired bootstrap interval over the held-out windows "
        "(per seed).",
        "",
        "| read at | H-Net | baseline | multiplier (median) | min - max over seeds | per seed "
        "| gap per seed |",
        "|---|---|---|---|---|---|---|",
    ]
    for e, rd, where in rows:
        sp = rd.spread
        gaps = "; ".join(g.text(4, signed=True) if g is not None else "-" for g in rd.gaps)
        lines.append(
            f"| {where} ({human_bytes(rd.at_bytes)}) | {e.reference} | {e.baseline} | "
            f"{_BOUND_MARK[sp.bound]}{sp.median:.2f}x | {sp.min:.2f} - {sp.max:.2f} | "
            f"{', '.join(m.text() for m in rd.per_seed)} | {gaps} |"
        )
    return [*lines, ""]


def _efficiency_lines(res: ComparisonResults) -> list[str]:
    lines = ["## Data efficiency, one way at the end", ""]
    if not res.efficiency:
        return [*lines, "No reference/baseline pair has evaluations yet."]
    lines += [
        "Training bytes a baseline needs to reach the H-Net's final held-out bits/byte, divided by the "
        'H-Net\'s bytes (interpolated in log bytes; "more than" when the baseline never got there '
        "within its budget). Gap: baseline minus H-Net bits/byte at the H-Net's final bytes.",
        "",
        "| H-Net | baseline | multiplier | per seed | gap at equal bytes (bits/byte) |",
        "|---|---|---|---|---|",
    ]
    for e in res.efficiency:
        sp = e.spread
        seeds = ", ".join(m.text() for m in e.per_seed)
        gaps = ", ".join(_fmt(g, 4) for g in e.gaps)
        lines.append(
            f"| {e.reference} | {e.baseline} | {_BOUND_MARK[sp.bound]}{sp.median:.2f}x | {seeds} | {gaps} |"
        )
    columns = sorted({m.reference_bytes for e in res.efficiency for m in e.first_curve()})
    lines += [
        "",
        "Multiplier at each H-Net evaluation of the last decade (first seed; `>`: the baseline never "
        "got there, a lower bound). Noisy where the curves are flat: read the trend, not one cell.",
        "",
        "| H-Net bytes | " + " | ".join(human_bytes(b) for b in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for e in res.efficiency:
        cell = {m.reference_bytes: m for m in e.first_curve()}
        row = [_short(cell[b]) if b in cell else "" for b in columns]
        lines.append(f"| {e.reference} vs {e.baseline} | " + " | ".join(row) + " |")
    return lines


def _bpb_lines(res: ComparisonResults) -> list[str]:
    lines = [
        "",
        "## Held-out bits per byte",
        "",
        "| arm | layout | params | train FLOPs/byte (target / reached) | bytes trained | "
        "final bits/byte (median of seeds) | bytes/chunk per stage | train bytes/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in res.recipe.arms:
        per = res.arms[a.name].values()
        finals = [x.final_bpb for x in per if x.final_bpb is not None]
        comps = [x.final_compression for x in per if x.final_compression]
        rates = [x.bytes_per_s for x in per if x.bytes_per_s]
        f = res.flops_per_byte[a.name]
        reached = f"{f.at_reached:.3g}" if f.at_reached else "-"
        comp = " / ".join(f"{c:.2f}" for c in comps[0]) if comps else "-"
        trained = max(x.train_bytes for x in per)
        lines.append(
            f"| {a.name} | `{a.layout}` | {f.params / 1e6:.3f}M | "
            f"{f.at_target:.3g} / {reached} | {human_bytes(trained)} | "
            f"{_fmt(statistics.median(finals) if finals else None)} | {comp} | "
            f"{human_bytes(statistics.median(rates)) + '/s' if rates else '-'} |"
        )
    return lines


def _interval_lines(res: ComparisonResults) -> list[str]:
    """Every arm and seed: bits/byte with its 95% window interval, before the decay and at the end."""
    rows = [(a, s, iv) for a in res.recipe.arms for s, iv in sorted(res.intervals.get(a.name, {}).items())
            if iv.stable is not None or iv.final is not None]
    if not rows:
        return []
    lines = [
        "",
        "## Held-out bits per byte with 95% intervals",
        "",
        f"Bootstrap over the {res.recipe.train_config(0).eval_windows} held-out windows (the choice "
        "of windows, not of genomes or of training seeds: the seeds' spread is the rows of an arm).",
        "",
        f"| arm | seed | end of the stable phase ({human_bytes(res.recipe.stable_end())}) | "
        f"end ({human_bytes(res.recipe.budget_end())}) |",
        "|---|---|---|---|",
    ]
    for a, seed, iv in rows:
        cells = [iv.stable.text() if iv.stable else "-", iv.final.text() if iv.final else "-"]
        lines.append(f"| {a.name} | {seed} | " + " | ".join(cells) + " |")
    return lines


def _extra_eval_lines(res: ComparisonResults) -> list[str]:
    if not res.extra_eval:
        return []
    arms = res.recipe.arms
    lines = [
        "",
        "## Extra held-out sets (last checkpoint of each arm)",
        "",
        "Median over seeds; in brackets the lowest and highest seed, and the mean half-width of the "
        "seeds' 95% window intervals.",
        "",
        "| set | " + " | ".join(a.name for a in arms) + " | best Markov | xz | zstd |",
        "|---|" + "---|" * (len(arms) + 3),
    ]
    for name, per_arm in res.extra_eval.items():
        anc = res.anchors.extra.get(name) if res.anchors is not None else None
        cells = []
        for a in arms:
            entries = list(per_arm.get(a.name, {}).values())
            vals = [e.bpb for e in entries]
            halves = [(e.interval.high - e.interval.low) / 2 for e in entries if e.interval is not None]
            cell = _fmt(statistics.median(vals)) if vals else "-"
            if len(vals) > 1:
                cell += f" [{min(vals):.4f}, {max(vals):.4f}]"
            if halves:
                cell += f" ±{statistics.mean(halves):.4f}"
            cells.append(cell)
        markov = "- (k=-) | - | -"
        if anc is not None:
            mk = anc.markov
            markov = f"{_fmt(mk.best_bpb)} (k={mk.best_order}) | {_fmt(anc.xz)} | {_fmt(anc.zstd)}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {markov} |")
    return lines


def _reproduce_lines(res: ComparisonResults) -> list[str]:
    m = res.machine
    return [
        "", "## Reproduce", "", "```", *res.commands, "```", "",
        f"Machine: {m.platform}, {m.cpus} CPUs, torch {m.torch}, hnet-bio {m.hnet_bio}, "
        f"Python {m.python}. Report built {res.reported}. Every number is in results.json.",
        "",
    ]


def _anchor_lines(res: ComparisonResults) -> list[str]:
    if res.anchors is None:
        return []
    h = res.anchors.held_out
    mk = h.markov
    best = mk.best_bpb
    finals = {k: [x.final_bpb for x in per.values() if x.final_bpb is not None]
              for k, per in res.arms.items()}
    winners = [k for k, v in finals.items() if v and statistics.median(v) < best]
    rc = " and its reverse complement" if res.recipe.train_config(0).rc_augment else ""
    lines = [
        "",
        "## Classical anchors on the same held-out bytes",
        "",
        *_split_note(res),
        f"- Best smoothed Markov model (interpolated Witten-Bell, orders 0..{len(mk.bpb_by_order) - 1}, "
        f"counted on the whole training split{rc}, {human_bytes(mk.train_bytes)}): "
        f"order {mk.best_order}, "
        f"**{best:.4f} bits/byte** (the order is picked on these held-out bytes, so this anchor is "
        f"slightly optimistic).",
        "- Markov on only the training windows the neural arms saw: "
        + ", ".join(
            f"{human_bytes(p.train_bytes)}: {p.bpb:.4f} (k={p.best_order})"
            for p in res.anchors.markov_on_seen_bytes
        )
        + ".",
        f"- xz -9e: {h.xz:.4f} bits/byte; zstd -19: {h.zstd:.4f} bits/byte "
        f"(compressing the {h.compressed:,} held-out bytes alone, headers included).",
        "",
    ]
    if winners:
        lines.append(f"Neural arms below the best Markov model: {', '.join(winners)}.")
    else:
        lines.append(f"**No neural arm beats the best Markov model ({best:.4f} bits/byte) at this budget.**")
    return lines


def _split_note(res: ComparisonResults) -> list[str]:
    """Whether the seeds share one held-out split (``data.split_seed``) or each has its own."""
    seeds, fixed = res.recipe.seeds, res.recipe.data.split_seed
    if len(seeds) < 2:
        return []
    if fixed is not None:
        return [f"(Every seed holds out the same bytes: the split is fixed by data.split_seed = {fixed}; "
                "the seeds vary initialisation and data order.)", ""]
    return [f"(Measured on seed {seeds[0]}'s held-out windows: the train/held-out split follows the seed, "
            "as in pretraining, so other seeds hold out other units.)", ""]


def to_html(md: str, figures: dict[str, bytes | None]) -> str:
    """A small Markdown subset (headings, lists, tables, code, images, bold) as one HTML file."""
    out, table, code = [], False, False
    for line in md.splitlines():
        if line.startswith("```"):
            out.append("</pre>" if code else "<pre>")
            code = not code
            continue
        if code:
            out.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= {"-"} for c in cells):
                continue
            tag = "th" if not table else "td"
            if not table:
                out.append("<table>")
                table = True
            out.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if table:
            out.append("</table>")
            table = False
        if line.startswith("!["):
            name = line[line.index("(") + 1 : -1]
            png = figures.get(name)
            if png:
                out.append(
                    f'<p><img alt="{name}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></p>'
                )
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            out.append(f"<ul><li>{_inline(line[2:])}</li></ul>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    if table:
        out.append("</table>")
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "img{max-width:100%}pre{background:#f4f4f4;padding:.5em;overflow-x:auto}"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>H-Net comparison</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n"
    )


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)
