"""`hnet-bio models`: the pretrained models shipped in the package, with their card's headline numbers.

Each shipped model loads by name wherever a checkpoint directory is accepted
(``--checkpoint dna-bacteria-small``, ``hnet_bio.load_pretrained("dna-bacteria-small")``). The
numbers come from the model's metadata.json, written by ``hnet-bio package`` when it measured them;
the full card is the model directory's README.md (``--card NAME`` prints it).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hnet_bio import shipped
from hnet_bio.checkpoint import read_metadata
from hnet_bio.shipped import CARD_FILE, shipped_model_dir, shipped_models
from pipelines.packaging.card import headline
from pipelines.units import human_bytes


@dataclass
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


def list_models(models_dir: Path | None = None) -> list[ShippedModel]:
    """The shipped models present, with the headline numbers of their cards."""
    root = shipped.MODELS_DIR if models_dir is None else Path(models_dir)
    rows = []
    for name in shipped_models(root):
        h = headline(read_metadata(root / name))
        rows.append(ShippedModel(name, root / name, h["modality"], h["parameters"], h["held_out_bpb"],
                                 list(h["bytes_per_chunk"]), h["absent_genus_bpb"], h["train_bytes"],
                                 h["step"]))
    return rows


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


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("models", help="list the shipped pretrained models and their headline numbers",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--card", metavar="NAME", help="print the full model card of NAME")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.card:
        sys.stdout.write((shipped_model_dir(args.card) / CARD_FILE).read_text())
        return 0
    rows = list_models()
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
    else:
        print(format_models(rows))
    return 0
