"""A shipped model's card (its README.md), rendered from its metadata.json.

The card is rendered from the facts that `hnet-bio package` measured (`CardFacts`), never edited
by hand, so the prose and the numbers cannot drift apart; `hnet-bio models` reads the same facts
for its one-line summaries.
"""

from __future__ import annotations

from hnet_bio.errors import CheckpointError
from hnet_bio.metadata import CheckpointMetadata
from modalities.corpora import held_group_of
from pipelines.packaging.card_facts import AnchorFacts, CardFacts, MeasuredSet, TrainingFacts
from pipelines.units import human_bytes


def _anchor_values(anchors: AnchorFacts) -> list[tuple[str, float]]:
    """(label, bits/byte) of each classical anchor, in the card's order."""
    return [(f"best order-k Markov (order {anchors.markov_best_order})", anchors.markov),
            ("xz -9e", anchors.xz), ("zstd -19", anchors.zstd)]


def _f(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    h, rest = divmod(round(seconds), 3600)
    return f"{h} h {rest // 60:02d} min" if h else f"{rest // 60} min {rest % 60:02d} s"


def _chunks(values: list[float]) -> str:
    return ", ".join(f"stage {i}: {v:.2f}" for i, v in enumerate(values)) or "n/a"


def _eval_section(title: str, ev: MeasuredSet, unit: str) -> list[str]:
    bpb = ev.bits_per_byte
    lines = [f"### {title}", "", ev.what, "",
             f"{ev.predicted_bytes:,} predicted bytes in {ev.windows} windows of "
             f"{ev.window_bytes:,} bytes (each byte predicted from the bytes before it in its "
             "window).", "",
             f"| model or anchor | bits/{unit} | model minus anchor |", "|---|---|---|",
             f"| **this model** | **{bpb:.4f}** | |"]
    if ev.anchors is not None:
        lines += [f"| {name} | {value:.4f} | {bpb - value:+.4f} |"
                  for name, value in _anchor_values(ev.anchors)]
    else:
        lines.append("| classical anchors | not measured | |")
    lines += ["", f"Bytes per chunk: {_chunks(ev.bytes_per_chunk)}." + _verdict(bpb, ev.anchors), ""]
    return lines


def _verdict(bpb: float, anchors: AnchorFacts | None) -> str:
    """One sentence: which anchors the model beats on these bytes, and which it does not."""
    if anchors is None:
        return ""
    labels = (("best order-k Markov", anchors.markov), ("xz -9e", anchors.xz), ("zstd -19", anchors.zstd))
    below = [label for label, value in labels if bpb < value]
    above = [label for label, value in labels if bpb >= value]
    if not above:
        return " The model is below every classical anchor here."
    if not below:
        return " The model does not beat any classical anchor here."
    return f" The model is below {', '.join(below)}, but not below {', '.join(above)}."


def _intro(meta: CheckpointMetadata, facts: CardFacts) -> list[str]:
    t, w = facts.training, facts.weights
    return [
        f"# {facts.name}", "",
        f"A {facts.parameters / 1e6:.2f}M-parameter {meta.model_class} ({t.stages}-stage H-Net) "
        f"trained by hnet-bio on `{t.corpus}` ({t.corpus_description}). Load it by name:", "",
        "```python",
        "import hnet_bio",
        f'model, meta = hnet_bio.load_pretrained("{facts.name}")  # float32 on the CPU',
        "```", "",
        f"or pass `--checkpoint {facts.name}` to any `hnet-bio` command. Every number below was "
        f"measured by `hnet-bio package` on the shipped weights ({w.dtype}; loaded as float32); "
        "none is copied.", "",
    ]


def _names(names: list[str] | None, most: int = 30) -> str:
    names = names or []
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def _data(meta: CheckpointMetadata, facts: CardFacts) -> list[str]:
    t, ev = facts.training, facts.evaluation
    genus = held_group_of(ev.held_out.corpus)
    lines = [
        "## Data", "",
        f"- Byte convention: `{meta.byte_convention}`"
        + (f", {meta.sample_rate} samples per second" if meta.sample_rate else "") + ".",
        f"- Training split: {t.split_units} {t.unit_kind} of `{t.corpus}`, "
        f"{human_bytes(t.split_bytes)} ({_names(t.split_names, 20)}).",
        f"- Held out (never trained on){f', the whole genus {genus}' if genus else ''}: "
        f"{_names(ev.held_out.units)}.",
    ]
    if ev.held_out_strains is not None:
        lines.append(f"- Held out as well (never trained on), sister strains of the trained species: "
                     f"{_names(ev.held_out_strains.units)}.")
    return [*lines, ""]


def _training(meta: CheckpointMetadata, t: TrainingFacts, facts: CardFacts) -> list[str]:
    w = facts.weights
    lines = [
        "## Training", "",
        f"- Recipe: `{t.recipe}`; command: `{t.command}`"
        + (f", continued {t.sessions - 1} time(s) with `hnet-bio pretrain --resume RUN_DIR` after "
           "interruptions" if t.sessions > 1 else "") + ".",
    ]
    if t.recipe_differences:
        diffs = "; ".join(f"{k}: recipe {v[0]!r}, run {v[1]!r}" for k, v in t.recipe_differences.items())
        lines.append(f"- The run differs from the recipe file in: {diffs}.")
    train_bytes = meta.train_bytes or 0
    seq_len = meta.seq_len or 0
    lines += [
        f"- {t.steps:,} steps of {human_bytes(t.step_bytes)} = {human_bytes(train_bytes)} "
        f"({train_bytes:,} bytes, {t.epochs:.2f} epochs of the training split); "
        f"windows of {seq_len:,} bytes.",
        f"- Hardware: {t.hardware}; wall time {_duration(t.wall_time_s)} ({t.wall_time_note}).",
        f"- Shipped checkpoint: step {meta.step} (`--checkpoint {t.checkpoint_choice}`); weights "
        f"{human_bytes(w.bytes)}, {w.dtype}, sha256 `{w.sha256[:16]}...`.",
        "",
    ]
    return lines


def _regression(facts: CardFacts) -> list[str]:
    reg = facts.regression_slice
    if reg is None:
        return []
    return ["## Regression check", "",
            "`tests/pipelines/packaging/test_shipped_models.py` recomputes bits/byte on a fixed "
            f"slice of `tests/data` "
            f"({', '.join(reg.files)}: first {reg.windows_per_file} windows of "
            f"{reg.window_bytes:,} bytes each): {reg.bits_per_byte:.4f} bits/byte with these "
            f"weights ({_f(reg.fp32_bits_per_byte)} with the float32 training checkpoint), "
            f"bytes per chunk {_chunks(reg.bytes_per_chunk)}.", ""]


def _history(facts: CardFacts, unit: str) -> list[str]:
    """Earlier versions' numbers, as their own cards stated them (on their own held-out sets)."""
    old = facts.previous_versions()
    if not old:
        return []
    lines = [f"## Version history (this is version {facts.version or 1})", "",
             "Each earlier version's numbers as its own card measured them: the held-out sets may differ "
             "from this version's (see the held-out column).", "",
             f"| version | packaged | trained on | steps | bytes (epochs) | parameters "
             f"| held-out bits/{unit} | held-out strains | absent genus |", "|---" * 9 + "|"]
    for v in old:
        lines.append(f"| {v.version} | {v.packaged} | `{v.corpus}` | {v.steps:,} "
                     f"| {human_bytes(v.train_bytes)} ({v.epochs:.2f}) | {v.parameters / 1e6:.2f}M "
                     f"| {v.held_out_bpb:.4f} ({v.held_out}) | {_f(v.held_out_strains_bpb)} "
                     f"| {_f(v.absent_genus_bpb)} |")
    return [*lines, ""]


def render_card(meta: CheckpointMetadata, facts: CardFacts | None = None) -> str:
    """The model card (Markdown) of a packaged model: its metadata and card facts (by default the
    ones in ``meta.extra``)."""
    facts = facts or CardFacts.from_metadata(meta)
    if facts is None:
        raise CheckpointError("no model card: this checkpoint was not made by hnet-bio package")
    ev = facts.evaluation
    unit = "base" if meta.modality == "dna" else "byte"
    lines = _intro(meta, facts) + _data(meta, facts) + _training(meta, facts.training, facts)
    lines += ["## Held-out numbers", "", ev.rule, ""]
    genus = held_group_of(ev.held_out.corpus)
    held_title = (f"A held-out genus ({genus})" if genus
                  else "Held-out " + ("strains" if meta.modality == "dna" else "files"))
    lines += _eval_section(held_title, ev.held_out, unit)
    if ev.held_out_strains is not None:
        lines += _eval_section("Held-out strains of the trained species", ev.held_out_strains, unit)
    if ev.absent_genus is not None:
        lines += _eval_section("A genus absent from training", ev.absent_genus, unit)
    if ev.anchor_note:
        lines += [ev.anchor_note, ""]
    lines += _regression(facts)
    lines += _history(facts, unit)
    lines += ["## Known limitations", ""] + [f"- {x}" for x in facts.limitations]
    p = facts.packaged
    lines += ["", "## How this card was made", "",
              f"`{p.command}` on {p.date} (hnet-bio {p.hnet_bio}, torch {p.torch}), from "
              f"`{facts.training.source_checkpoint}`. See docs/models.md.", ""]
    return "\n".join(lines)
