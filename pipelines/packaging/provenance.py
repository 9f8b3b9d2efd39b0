"""Where a shipped model came from: its run, its checkpoint, its recipe, and how the training went.

`open_source` reads everything `hnet-bio package` needs from the run directory at once (a running
training may rotate the checkpoint away later); `training_facts` turns it into the card's
`TrainingFacts`: steps and bytes (the checkpoint), the recipe and its differences from the recipe
file (the run's saved recipe), sessions and wall time (the run's metrics).
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hnet_bio.checkpoint import read_metadata
from hnet_bio.metadata import CheckpointMetadata
from pipelines.errors import UsageError
from pipelines.packaging.card_facts import TrainingFacts
from pipelines.runs.records import TrainerState
from pipelines.runs.resolve import CHOICES, ResolvedCheckpoint, is_checkpoint_dir, resolve_checkpoint
from pipelines.runs.run_dir import RunDir
from pipelines.training.train_config import PretrainConfig, from_dict, read_config

REPO_ROOT = Path(__file__).resolve().parents[2]
WALL_TIME_NOTE = ("the logged training time of every session, summed; start-up and evaluation pauses "
                  "between logs are not counted")


@dataclass(frozen=True)
class RunHistory:
    """How a run went: sessions (each ``--resume`` starts one) and their logged time summed."""

    sessions: int
    wall_time_s: float | None  # None when no step logged its time


@dataclass(frozen=True)
class PackageSource:
    """The run and checkpoint being packaged, read once.

    saved: the run's recipe exactly as saved (the model directory gets a copy); config: the same,
    typed. choice: how the checkpoint was chosen, as ``--checkpoint`` takes it (best, last, a
    step) or "path" for a checkpoint directory given directly.
    """

    run: RunDir
    checkpoint: Path
    choice: str
    corpus: str  # a named corpus with a held-out split
    saved: dict[str, Any]
    config: PretrainConfig
    metadata: CheckpointMetadata
    trainer_state: TrainerState
    recipe_path: Path

    @property
    def step(self) -> int:
        return int(self.metadata.step or self.trainer_state.step)

    @property
    def step_bytes(self) -> int:
        """Training bytes per optimizer step, over every process."""
        t = self.config.train
        return t.batch_size * t.seq_len * t.grad_accum * self.trainer_state.world_size


def _run_path(run: str) -> Path:
    """The run directory of ``RUN`` or ``RUN@CHOICE`` (the resolver checks the choice)."""
    base, sep, _ = run.rpartition("@")
    return Path(run) if Path(run).exists() or not sep else Path(base)


def _resolve(run: str, run_dir: RunDir, checkpoint: str | None) -> tuple[ResolvedCheckpoint, str]:
    """The checkpoint that ``--run RUN[@CHOICE] [--checkpoint C]`` names, and the choice for the card.

    ``--checkpoint last|best|STEP`` is ``RUN@last|best|STEP``; a checkpoint directory is taken as
    is; neither: the resolver's default for a run directory (best, else newest).
    """
    explicit = Path(run) != run_dir.path
    if checkpoint is not None and (checkpoint in CHOICES or checkpoint.isdigit()):
        if explicit:
            raise UsageError(f"--run {run} --checkpoint {checkpoint}: choose the checkpoint once "
                             f"({run_dir.path}@{checkpoint} or --checkpoint {checkpoint})")
        run = f"{run}@{checkpoint}"
    elif checkpoint is not None:
        found = resolve_checkpoint(checkpoint)
        if explicit or not is_checkpoint_dir(found.path) or found.shipped:
            raise UsageError(f"--checkpoint {checkpoint}: expected last, best, a step or a checkpoint "
                             "directory of the run")
        return found, "path"
    found = resolve_checkpoint(run)
    if found.run is None or found.choice is None:
        raise UsageError(f"{run}: not a pretraining run directory")
    return found, found.choice.removeprefix("step ")


def open_source(run: str | os.PathLike[str], checkpoint: str | None, name: str,
                recipe: str | Path | None) -> PackageSource:
    """Read the run, its chosen checkpoint's metadata and trainer state, and the recipe; refuse what
    cannot make a card (files instead of a named corpus, no recipe file) before any work."""
    text = os.fspath(run)
    run_dir = RunDir(_run_path(text))
    if not run_dir.config_path.is_file():
        raise UsageError(f"{run_dir.path}: not a pretraining run directory (no {RunDir.CONFIG})")
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"--name {name!r}: expected a plain model name such as dna-bacteria-small")
    saved = run_dir.read_config()
    config = from_dict(saved)
    corpus = config.data.corpus
    if not isinstance(corpus, str) or "," in corpus or Path(corpus).suffix:
        raise UsageError(f"{run_dir.path}: trained on files ({corpus!r}), not on a named corpus with a "
                         "held-out split")
    found, choice = _resolve(text, run_dir, checkpoint)
    recipe_path = Path(recipe) if recipe is not None else REPO_ROOT / "configs" / f"pretrain-{name}.yaml"
    if not recipe_path.is_file():
        raise UsageError(f"{recipe_path}: no such recipe; give the one the run was started with (--recipe)")
    return PackageSource(run=run_dir, checkpoint=found.path, choice=choice, corpus=corpus, saved=saved,
                         config=config,
                         metadata=read_metadata(found.path), trainer_state=run_dir.trainer_state(found.path),
                         recipe_path=recipe_path)


def run_history(run: RunDir) -> RunHistory:
    """Sessions and wall time from the run's metrics: each resume restarts ``elapsed_s`` from zero."""
    sessions: list[float] = []
    last = None
    for rec in run.train_records():
        e = rec.elapsed_s
        if e is None:
            continue
        if last is None or e < last:
            sessions.append(0.0)
        sessions[-1] = max(sessions[-1], e)
        last = e
    return RunHistory(max(len(sessions), 1), round(sum(sessions), 1) if sessions else None)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
    return out


def recipe_differences(recipe: Path, saved: dict[str, Any]) -> dict[str, list[Any]]:
    """Dotted keys whose value in the recipe file differs from the run's saved recipe."""
    # both through today's loader, so keys added since the run was saved read as their defaults
    a = _flat(json.loads(json.dumps(read_config(recipe).to_dict())))
    b = _flat(json.loads(json.dumps(from_dict(saved).to_dict())))
    return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def repo_relative(p: Path) -> str:
    """A path as the card should show it: relative to the checkout when inside it."""
    try:
        return str(Path(p).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def pretrain_command(recipe: Path, run: Path, diffs: dict[str, list[Any]]) -> str:
    """The command that reproduces the run: the recipe plus an override for every key it changed."""
    parts = ["hnet-bio", "pretrain", "--config", repo_relative(recipe), "--out", repo_relative(run)]
    for key, (_, value) in diffs.items():
        if key.startswith(("train.", "data.")) and isinstance(value, (int, float, str)) and value is not None:
            parts += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return shlex.join(parts)


def default_hardware(world: int) -> str:
    """What the run's files tell about where it ran; ``--hardware`` states it exactly."""
    device = "a CUDA GPU" if torch.cuda.is_available() else "CPU"
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{device}{f' ({cpu})' if cpu and device == 'CPU' else ''}, {world} training process(es)"


def training_facts(source: PackageSource, target_ratio: list[float], hardware: str | None) -> TrainingFacts:
    """The card's training facts of ``source`` (a model of ``len(target_ratio)`` stages)."""
    corpus = source.metadata.corpus  # the training split as pretraining described it
    described = corpus.get("source", {})
    dna = source.metadata.modality == "dna"
    names = sorted({Path(u["source"]).name if dna else u["name"] for u in corpus.get("units", [])})
    split_bytes = int(corpus.get("total_bytes", 0))
    diffs = recipe_differences(source.recipe_path, source.saved)
    history = run_history(source.run)
    return TrainingFacts(
        corpus=source.corpus, corpus_description=described.get("description", ""),
        corpus_package=described.get("package"), unit_kind="genome files" if dna else "audio files",
        split_units=len(names), split_names=names, split_bytes=split_bytes,
        epochs=int(source.metadata.train_bytes or 0) / max(split_bytes, 1), stages=len(target_ratio),
        steps=source.step, max_steps=source.config.train.max_steps, step_bytes=source.step_bytes,
        recipe=repo_relative(source.recipe_path), recipe_differences=diffs,
        command=pretrain_command(source.recipe_path, source.run.path, diffs),
        sessions=history.sessions, wall_time_s=history.wall_time_s, wall_time_note=WALL_TIME_NOTE,
        hardware=hardware or default_hardware(source.trainer_state.world_size),
        checkpoint_choice=source.choice, source_checkpoint=repo_relative(source.checkpoint),
        target_ratio=target_ratio)
