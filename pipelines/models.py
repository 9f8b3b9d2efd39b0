"""`hnet-bio models`: the pretrained models shipped in the package, with their card's headline numbers.

Each shipped model loads by name wherever a checkpoint directory is accepted
(``--checkpoint dna-bacteria-small``, ``hnet_bio.load_pretrained("dna-bacteria-small")``). The
numbers come from the model's metadata.json, written by ``hnet-bio package`` when it measured them
(`pipelines.packaging.registry`); the full card is the model directory's README.md (``--card NAME``
prints it).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hnet_bio.shipped import CARD_FILE, shipped_model_dir
from pipelines.packaging.registry import format_models, list_models


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
