"""Turn a pretraining run into a shipped model with a measured model card (`hnet-bio package`).

One call does the whole job, so the shipped numbers are always those of the shipped weights:

1. take the run's chosen checkpoint (`pipelines.runs.resolve`: ``RUN`` is its best, else its
   newest; ``RUN@last``, ``RUN@best``, ``RUN@STEP``) and store its weights in bf16 (the
   precision rule of `hnet_bio.dtypes.cast_model`: residual_proj and mixer.D stay float32), a few MB;
2. load those weights back as float32, exactly as a user gets them, and measure held-out bits/byte
   and bytes per chunk per stage (`pipelines.packaging.measures`): the corpus's held-out split, and
   for DNA the Leptospira genome, a genus absent from training;
3. measure the classical anchors (order-k Markov, xz, zstd) on exactly the same bytes;
4. write config.json, model.safetensors, metadata.json, the run's recipe and the card README.md
   into a hidden directory and swap it into ``hnet_bio/models/NAME`` in one rename;
5. write the regression slice's expected numbers (tests/data/shipped/NAME.json) for the test.

Training facts (steps, bytes, sessions, wall time) come from the run directory
(`pipelines.packaging.provenance`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch

import hnet_bio
from hnet_bio import shipped as registry
from hnet_bio.atomic import atomic_write_json, atomic_write_text, fsync_dir
from hnet_bio.checkpoint import METADATA_FILE, WEIGHTS_FILE, load_pretrained, read_metadata, save_pretrained
from hnet_bio.dtypes import cast_model
from hnet_bio.errors import CheckpointError
from hnet_bio.lm import HNetLM, IsotropicLM
from hnet_bio.metadata import CheckpointMetadata
from hnet_bio.shipped import CARD_FILE
from modalities.corpora import held_group_of
from pipelines.packaging.card import render_card
from pipelines.packaging.card_facts import CardFacts, PackagedFacts, SliceRecord, VersionRecord, WeightsFacts
from pipelines.packaging.measures import MeasurePlan, card_evaluation, card_regression_slice
from pipelines.packaging.provenance import (
    REPO_ROOT,
    PackageSource,
    open_source,
    repo_relative,
    training_facts,
)
from pipelines.runs.run_dir import RunDir
from pipelines.units import human_bytes

SLICE_DATA = REPO_ROOT / "tests" / "data"  # the regression slice's files
SLICE_DIR = SLICE_DATA / "shipped"  # what the regression test must find again
MAX_WEIGHT_BYTES = 10_500_000  # "about 10 MB": a bigger file is packaged but warned about
WEIGHTS_DTYPE = "bfloat16; residual_proj and mixer.D in float32"


@dataclass(frozen=True)
class PackageResult:
    """What `package_model` wrote: the model directory, the regression numbers file (None outside a
    checkout) and the model's metadata (``metadata.extra`` holds the card facts, as on disk)."""

    out_dir: Path
    slice_file: Path | None
    metadata: CheckpointMetadata
    facts: CardFacts


def package_model(run: str | os.PathLike[str], name: str, checkpoint: str | None = None,
                  out_dir: str | Path | None = None, recipe: str | Path | None = None,
                  eval_windows: int = 512, absent_windows: int = 512, batch_size: int = 8,
                  max_order: int = 12, anchors: bool = True, slice_out: str | Path | None = None,
                  hardware: str | None = None, limitations: list[str] | None = None,
                  command: str | None = None, progress: TextIO | None = None) -> PackageResult:
    """Package a checkpoint of run ``run`` (``RUN`` or ``RUN@best|last|STEP``) as shipped model ``name``.

    checkpoint: ``last``, ``best`` or a step (the same as ``RUN@...``), or a checkpoint directory;
    None: the resolver's choice for a run directory (its best, else its newest).
    """
    source = open_source(run, checkpoint, name, recipe)
    plan = MeasurePlan(eval_windows, absent_windows, batch_size, max_order, anchors)
    out = Path(out_dir) if out_dir is not None else registry.MODELS_DIR / name
    model32, _ = load_pretrained(source.checkpoint)  # read now: a running training may rotate it away
    staging = out.parent / f".tmp-{out.name}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        if progress:
            progress.write(f"package: {name} from {source.checkpoint} ({source.metadata.modality}); "
                           f"bf16 weights into {staging}\n")
        meta, facts = _write_model(staging, name, source, model32, plan, hardware, limitations or [],
                                   command, progress, previous_card(out))
        _swap_into_place(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    slice_file = _write_slice(meta, facts, slice_out)
    if progress:
        progress.write(f"package: wrote {out} ({facts.weights.bytes:,} bytes of weights)"
                       + (f" and {slice_file}" if slice_file else "") + "\n")
    return PackageResult(out, slice_file, meta, facts)


def _write_model(staging: Path, name: str, source: PackageSource, model32: HNetLM | IsotropicLM,
                 plan: MeasurePlan, hardware: str | None, limitations: list[str], command: str | None,
                 say: TextIO | None, previous: tuple[CheckpointMetadata, CardFacts] | None = None,
                 ) -> tuple[CheckpointMetadata, CardFacts]:
    """Store bf16 weights in ``staging``, measure them, and write the metadata, recipe and card beside."""
    save_pretrained(cast_model(copy.deepcopy(model32), torch.bfloat16), staging)
    shipped = _byte_lm(load_pretrained(staging)[0])  # float32, exactly what a user gets
    weights = staging / WEIGHTS_FILE
    size = weights.stat().st_size
    if size > MAX_WEIGHT_BYTES and say:
        say.write(f"package: warning: {size:,} bytes of weights (> about 10 MB)\n")
    evaluation = card_evaluation(shipped, source, plan, say)
    regression = card_regression_slice(shipped, model32, source, SLICE_DATA, plan.batch_size)
    facts = CardFacts(
        name=name, parameters=shipped.num_parameters(),
        weights=WeightsFacts(file=WEIGHTS_FILE, bytes=size, sha256=_sha256(weights), dtype=WEIGHTS_DTYPE),
        training=training_facts(source, list(shipped.config.target_ratios()), hardware),
        evaluation=evaluation, regression_slice=regression,
        packaged=PackagedFacts(date=_now(), torch=torch.__version__, hnet_bio=hnet_bio.__version__,
                               command=command or "hnet-bio package"),
        limitations=[], **_versioning(previous, source))
    ck = source.metadata
    seq_len = source.config.train.seq_len
    meta = CheckpointMetadata(
        model_class=type(shipped).__name__, modality=ck.modality, byte_convention=ck.byte_convention,
        seq_len=seq_len, trained_by="hnet-bio pretrain", sample_rate=ck.sample_rate,
        train_bytes=ck.train_bytes if ck.train_bytes is not None else source.step * source.step_bytes,
        step=source.step)
    facts = dataclasses.replace(facts, limitations=card_limitations(meta, facts) + limitations)
    meta = meta.replace(extra=facts.to_json())
    atomic_write_json(staging / METADATA_FILE, facts.metadata_json(meta))
    atomic_write_json(RunDir(staging).config_path, source.saved)  # the run's recipe, as saved
    atomic_write_text(staging / CARD_FILE, render_card(meta, facts))
    return meta, facts


def previous_card(out: Path) -> tuple[CheckpointMetadata, CardFacts] | None:
    """The card of the model ``out`` holds now, if it is a packaged one: the next version keeps its
    numbers in its history."""
    if not (out / METADATA_FILE).is_file():
        return None
    meta = read_metadata(out)
    facts = CardFacts.from_metadata(meta, str(out / METADATA_FILE))
    return (meta, facts) if facts is not None else None


def _versioning(previous: tuple[CheckpointMetadata, CardFacts] | None,
                source: PackageSource) -> dict[str, Any]:
    """``version`` and ``history`` of a new card: one more than the card it replaces, whose numbers
    join the history; packaging the same checkpoint again keeps its version and history."""
    if previous is None:
        return {}
    meta, facts = previous
    if facts.training.source_checkpoint == repo_relative(source.checkpoint) and meta.step == source.step:
        return {"version": facts.version, "history": facts.history}
    return {"version": (facts.version or 1) + 1,
            "history": [*(facts.history or []), VersionRecord.of(meta, facts).to_json()]}


def card_limitations(meta: CheckpointMetadata, facts: CardFacts) -> list[str]:
    """The known limitations every card states: size, context, the data's reach, the anchors' bias."""
    t = facts.training
    out = [f"Small: {facts.parameters / 1e6:.2f}M parameters trained on {t.epochs:.2f} epochs of "
           f"{human_bytes(t.split_bytes)}; a demonstration model, not a state-of-the-art one.",
           f"Context is one window of {meta.seq_len or 0:,} bytes; nothing beyond it is used."]
    if meta.modality == "dna":
        trained = ("three bacterial genera (Escherichia, Helicobacter, Staphylococcus; Vibrio is held out)"
                   if held_group_of(t.corpus)
                   else "four bacterial genera (Escherichia, Helicobacter, Staphylococcus, Vibrio)")
        out += [f"Trained on {trained}; other taxa (eukaryotes, viruses, other bacteria) are out of "
                "distribution: see the held-out and absent genus numbers.",
                "Upper-case bases only (soft-masking is not modelled); reverse complements were seen "
                "through augmentation."]
    else:
        out += ["One studio voice (Asterisk's 'Allison' prompts), 8 kHz 8-bit mu-law (telephone "
                "quality); other speakers, music and noisy recordings are untested.",
                "The held-out files are other prompts of the same speaker: the number measures "
                "generalisation to new utterances, not to new voices."]
    out.append("The Markov anchor's best order is chosen on the held-out bytes themselves, which flatters "
               "the anchor slightly; xz and zstd see the windows concatenated, with context across windows.")
    if t.checkpoint_choice == "best":
        out.append("The shipped checkpoint was chosen by held-out bits/byte during training (a small "
                   "selection bias on the held-out numbers).")
    return out


def _byte_lm(model: torch.nn.Module) -> HNetLM | IsotropicLM:
    """The loaded model as one of the byte-level LMs (what a checkpoint holds), for its config and size."""
    if not isinstance(model, (HNetLM, IsotropicLM)):
        raise CheckpointError(f"{type(model).__name__}: not a byte-level language model to package")
    return model


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _swap_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` with renames only: readers see the old model or the new one."""
    fsync_dir(staging)
    old = out.parent / f".old-{out.name}-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    fsync_dir(out.parent)
    if old.exists():
        shutil.rmtree(old)


def _write_slice(meta: CheckpointMetadata, facts: CardFacts, slice_out: str | Path | None) -> Path | None:
    """tests/data/shipped/NAME.json: what the regression test must find again (None outside a checkout)."""
    target = Path(slice_out) if slice_out is not None else SLICE_DIR / f"{facts.name}.json"
    if slice_out is None and not SLICE_DIR.parent.is_dir():
        return None
    atomic_write_json(target, SliceRecord.of(meta, facts).to_json())
    return target
