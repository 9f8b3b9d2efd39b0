"""The shipped models as `hnet-bio models` lists them: each with the headline numbers of its card.

The numbers come from each model's card facts (`CardFacts`, in its metadata.json), written by
``hnet-bio package`` when it measured them; a model directory without card facts is listed with
'-' for what it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hnet_bio import shipped
from hnet_bio.checkpoint import read_metadata
from hnet_bio.shipped import shipped_models
from pipelines.packaging.card_facts import CardFacts
from pipelines.units import human_bytes


@dataclass(frozen=True)
class ShippedModel:
    """One row of `hnet-bio models`."""

    name: str
    path: Path
    modality: str
    parameters: int | None
    held_out_bpb: float | None
    bytes_per_chunk: list[float]
    absent_genus_bpb: float | None
    train_bytes: int | None
    step: int | None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path)}


def _row(name: str, path: Path) -> ShippedModel:
    meta = read_metadata(path)
    facts = CardFacts.from_metadata(meta, str(path))
    held = facts.evaluation.held_out if facts else None
    absent = facts.evaluation.absent_genus if facts else None
    return ShippedModel(name, path, meta.modality, facts.parameters if facts else None,
                        held.bits_per_byte if held else None, list(held.bytes_per_chunk) if held else [],
                        absent.bits_per_byte if absent else None, meta.train_bytes, meta.step)


def list_models(models_dir: Path | None = None) -> list[ShippedModel]:
    """The shipped models present, with the headline numbers of their cards."""
    root = shipped.MODELS_DIR if models_dir is None else Path(models_dir)
    return [_row(name, root / name) for name in shipped_models(root)]


def format_models(rows: list[ShippedModel]) -> str:
    """An aligned table; numbers the card lacks show as '-'."""
    if not rows:
        return "no shipped models are installed (hnet_bio/models/ is empty)"
    header = ("name", "modality", "params", "held-out bits/byte", "bytes/chunk", "absent genus", "trained on")
    table = [header]
    for r in rows:
        table.append((
            r.name, r.modality, f"{r.parameters / 1e6:.2f}M" if r.parameters else "-",
            f"{r.held_out_bpb:.4f}" if r.held_out_bpb is not None else "-",
            " / ".join(f"{c:.2f}" for c in r.bytes_per_chunk) or "-",
            f"{r.absent_genus_bpb:.4f}" if r.absent_genus_bpb is not None else "-",
            f"{human_bytes(r.train_bytes)} ({r.step} steps)" if r.train_bytes else "-",
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    lines.append("load by name: --checkpoint NAME, or hnet_bio.load_pretrained(NAME); "
                 "the full card: hnet-bio models --card NAME")
    return "\n".join(lines)
