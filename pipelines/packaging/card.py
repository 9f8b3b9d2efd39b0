"""A shipped model's card (its README.md) and headline numbers, both read from its metadata.json.

The card is rendered from the metadata that `hnet-bio package` measured, never edited by hand, so
the prose and the numbers cannot drift apart; `hnet-bio models` reads the same metadata for its
one-line summaries.
"""

from __future__ import annotations

from typing import Any

from pipelines.units import human_bytes

ANCHOR_LABELS = (("markov", "best order-k Markov"), ("xz", "xz -9e"), ("zstd", "zstd -19"))


def headline(meta: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a model list shows: held-out bits/byte, bytes per chunk, training bytes."""
    ev = meta.get("evaluation", {})
    held = ev.get("held_out", {})
    absent = ev.get("absent_genus", {})
    return {
        "modality": meta.get("modality", "?"),
        "parameters": meta.get("parameters"),
        "held_out_bpb": held.get("bits_per_byte"),
        "bytes_per_chunk": held.get("bytes_per_chunk", []),
        "absent_genus_bpb": absent.get("bits_per_byte"),
        "train_bytes": meta.get("train_bytes"),
        "step": meta.get("step"),
    }


def _f(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    h, rest = divmod(round(seconds), 3600)
    return f"{h} h {rest // 60:02d} min" if h else f"{rest // 60} min {rest % 60:02d} s"


def _chunks(values: list[float]) -> str:
    return ", ".join(f"stage {i}: {v:.2f}" for i, v in enumerate(values)) or "n/a"


def _anchor_rows(model_bpb: float, anchors: dict[str, Any]) -> list[str]:
    rows = []
    for key, label in ANCHOR_LABELS:
        if key not in anchors:
            continue
        name = f"{label} (order {anchors['markov_best_order']})" if key == "markov" else label
        rows.append(f"| {name} | {anchors[key]:.4f} | {model_bpb - anchors[key]:+.4f} |")
    return rows


def _eval_section(title: str, ev: dict[str, Any], unit: str) -> list[str]:
    bpb = ev["bits_per_byte"]
    lines = [f"### {title}", "", ev.get("what", ""), "",
             f"{ev['predicted_bytes']:,} predicted bytes in {ev['windows']} windows of "
             f"{ev['window_bytes']:,} bytes (each byte predicted from the bytes before it in its "
             "window).", "",
             f"| model or anchor | bits/{unit} | model minus anchor |", "|---|---|---|",
             f"| **this model** | **{bpb:.4f}** | |"]
    anchors = ev.get("anchors")
    if anchors:
        lines += _anchor_rows(bpb, anchors)
    else:
        lines.append("| classical anchors | not measured | |")
    lines += ["", f"Bytes per chunk: {_chunks(ev['bytes_per_chunk'])}." + _verdict(bpb, anchors), ""]
    return lines


def _verdict(bpb: float, anchors: dict[str, Any] | None) -> str:
    """One sentence: which anchors the model beats on these bytes, and which it does not."""
    if not anchors:
        return ""
    below = [label for key, label in ANCHOR_LABELS if key in anchors and bpb < anchors[key]]
    above = [label for key, label in ANCHOR_LABELS if key in anchors and bpb >= anchors[key]]
    if not above:
        return " The model is below every classical anchor here."
    if not below:
        return " The model does not beat any classical anchor here."
    return f" The model is below {', '.join(below)}, but not below {', '.join(above)}."


def render_card(meta: dict[str, Any]) -> str:
    """The model card (Markdown) of a packaged model's metadata."""
    t = meta["training"]
    ev = meta["evaluation"]
    w = meta["weights"]
    unit = "base" if meta["modality"] == "dna" else "byte"
    lines = [
        f"# {meta['name']}", "",
        f"A {meta['parameters'] / 1e6:.2f}M-parameter {meta['model_class']} ({t['stages']}-stage H-Net) "
        f"trained by hnet-bio on `{t['corpus']}` ({t['corpus_description']}). Load it by name:", "",
        "```python",
        "import hnet_bio",
        f'model, meta = hnet_bio.load_pretrained("{meta["name"]}")  # float32 on the CPU',
        "```", "",
        f"or pass `--checkpoint {meta['name']}` to any `hnet-bio` command. Every number below was "
        f"measured by `hnet-bio package` on the shipped weights ({w['dtype']}; loaded as float32); "
        "none is copied.", "",
        "## Data", "",
        f"- Byte convention: `{meta['byte_convention']}`"
        + (f", {meta['sample_rate']} samples per second" if meta.get("sample_rate") else "") + ".",
        f"- Training split: {t['split_units']} {t['unit_kind']} of `{t['corpus']}`, "
        f"{human_bytes(t['split_bytes'])} ({', '.join(t['split_names'][:20])}"
        + (", ..." if len(t["split_names"]) > 20 else "") + ").",
        f"- Held out (never trained on): {', '.join(ev['held_out']['units'][:30])}"
        + (", ..." if len(ev["held_out"]["units"]) > 30 else "") + ".",
        "",
        "## Training", "",
        f"- Recipe: `{t['recipe']}`; command: `{t['command']}`"
        + (f", continued {t['sessions'] - 1} time(s) with `hnet-bio pretrain --resume RUN_DIR` after "
           "interruptions" if t.get("sessions", 1) > 1 else "") + ".",
    ]
    if t.get("recipe_differences"):
        diffs = "; ".join(f"{k}: recipe {v[0]!r}, run {v[1]!r}" for k, v in t["recipe_differences"].items())
        lines.append(f"- The run differs from the recipe file in: {diffs}.")
    lines += [
        f"- {t['steps']:,} steps of {human_bytes(t['step_bytes'])} = {human_bytes(meta['train_bytes'])} "
        f"({meta['train_bytes']:,} bytes, {t['epochs']:.2f} epochs of the training split); "
        f"windows of {meta['seq_len']:,} bytes.",
        f"- Hardware: {t['hardware']}; wall time {_duration(t.get('wall_time_s'))} "
        f"({t.get('wall_time_note', '')}).",
        f"- Shipped checkpoint: step {meta['step']} (`--checkpoint {t['checkpoint_choice']}`); weights "
        f"{human_bytes(w['bytes'])}, {w['dtype']}, sha256 `{w['sha256'][:16]}...`.",
        "",
        "## Held-out numbers", "",
        ev["rule"], "",
    ]
    lines += _eval_section("Held-out " + ("strains" if meta["modality"] == "dna" else "files"),
                           ev["held_out"], unit)
    if "absent_genus" in ev:
        lines += _eval_section("A genus absent from training", ev["absent_genus"], unit)
    if ev.get("anchor_note"):
        lines += [ev["anchor_note"], ""]
    reg = meta.get("regression_slice")
    if reg:
        lines += ["## Regression check", "",
                  "`tests/pipelines/packaging/test_shipped_models.py` recomputes bits/byte on a fixed "
                  f"slice of `tests/data` "
                  f"({', '.join(reg['files'])}: first {reg['windows_per_file']} windows of "
                  f"{reg['window_bytes']:,} bytes each): {reg['bits_per_byte']:.4f} bits/byte with these "
                  f"weights ({_f(reg.get('fp32_bits_per_byte'))} with the float32 training checkpoint), "
                  f"bytes per chunk {_chunks(reg['bytes_per_chunk'])}.", ""]
    lines += ["## Known limitations", ""] + [f"- {x}" for x in meta.get("limitations", [])]
    p = meta.get("packaged", {})
    lines += ["", "## How this card was made", "",
              f"`{p.get('command', 'hnet-bio package')}` on {p.get('date', '?')} (hnet-bio "
              f"{p.get('hnet_bio', '?')}, torch {p.get('torch', '?')}), from `{t['source_checkpoint']}`. "
              "See docs/models.md.", ""]
    return "\n".join(lines)
