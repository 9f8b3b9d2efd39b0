"""The output directory of ``hnet-bio compare``: what makes one, and where each arm's run lives.

::

    OUT/
      compare.json                 the recipe, the commands run, when it was created (`CompareManifest`)
      runs/ARM-seedS/              one ordinary pretraining run directory per arm and seed (`RunDir`)
      runs/ARM-seedS.lock          held while a process trains that arm (`runner.RunLock`)
      results.json report.md report.html *.png anchors.json   written by `report` / `numbers`

``compare.json`` is the marker: a directory without it is never trained into (it may hold a
user's files), and one with it is resumed only with a recipe that trains the same runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hnet_bio.atomic import atomic_write_json
from pipelines.errors import UsageError
from pipelines.runs.run_dir import RunDir

MARKER = "compare.json"  # what makes a directory a compare directory
RUNS = "runs"
# What the run directories depend on; the rest of a recipe (anchors, extra eval sets, references)
# may change between runs of one comparison and only changes the report. Seeds: one run dir each.
TRAINING_KEYS = ("arms", "data", "train", "budget", "eval_points", "step_bytes")


@dataclass
class CompareManifest:
    """``compare.json``: the resolved recipe (`CompareRecipe.to_json`), every command that ran on
    this directory, and when it was created."""

    recipe: dict[str, Any]
    commands: list[str] = field(default_factory=list)
    created: str | None = None

    @classmethod
    def new(cls, recipe: dict[str, Any]) -> CompareManifest:
        return cls(recipe, [], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompareManifest:
        return cls(recipe=data.get("recipe", {}), commands=list(data.get("commands", [])),
                   created=data.get("created"))

    def to_json(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "commands": self.commands, "created": self.created}


def run_name(arm: str, seed: int) -> str:
    return f"{arm}-seed{seed}"


def arm_run(out: Path, arm: str, seed: int) -> RunDir:
    """The run directory of ``arm`` trained with ``seed`` in compare directory ``out``."""
    return RunDir(out / RUNS / run_name(arm, seed))


def write_manifest(out: Path, manifest: CompareManifest) -> None:
    atomic_write_json(out / MARKER, manifest.to_json())


def check_out(out: Path, recipe: dict[str, Any] | None) -> CompareManifest | None:
    """The manifest of ``out`` (None for a new or empty directory); refuse anything else, and a
    manifest whose recipe trains other runs than ``recipe`` (`CompareRecipe.to_json`) would."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    marker = out / MARKER
    if not marker.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise UsageError(
                f"--out {out} is not empty and is not a compare directory (no {MARKER}); choose a new --out"
            )
        return None
    try:
        stored = CompareManifest.from_json(json.loads(marker.read_text()))
    except json.JSONDecodeError:
        raise UsageError(f"{marker}: not valid JSON; choose a new --out") from None
    if recipe is not None:
        new, old = _comparable(recipe), _comparable(stored.recipe)
        if new != old:
            changed = sorted(k for k in set(new) | set(old) if new.get(k) != old.get(k))
            raise UsageError(
                f"--out {out} holds a comparison with another recipe (differs in: "
                f"{', '.join(changed)}); choose a new --out or rerun with the same options"
            )
    return stored


def _comparable(recipe: dict[str, Any]) -> dict[str, Any]:
    return {k: recipe.get(k) for k in TRAINING_KEYS}
