"""`hnet-bio package`: turn a pretraining run into a shipped model with a measured model card.

One command does the whole job, so the shipped numbers are always those of the shipped weights:

1. take the run's last (or best) checkpoint and store its weights in bf16 (the precision rule of
   `hnet_bio.dtypes.cast_model`: residual_proj and mixer.D stay float32), a few MB;
2. load those weights back as float32, exactly as a user gets them, and measure held-out bits/byte
   and bytes per chunk per stage (`pipelines.packaging.measures`): the corpus's held-out split, and for
   DNA the Leptospira genome, a genus absent from training;
3. measure the classical anchors (order-k Markov, xz, zstd) on exactly the same bytes;
4. write config.json, model.safetensors, metadata.json, pretrain_config.json and the card README.md
   into a hidden directory and swap it into ``hnet_bio/models/NAME`` in one rename;
5. write the regression slice's expected numbers (tests/data/shipped/NAME.json) for the test.

Training facts (steps, bytes, sessions, wall time) come from the run directory: the recipe saved as
pretrain_config.json, metrics.jsonl and the checkpoint's own metadata.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch

import hnet_bio
from hnet_bio import shipped as registry
from hnet_bio.atomic import atomic_write_json, atomic_write_text, fsync_dir
from hnet_bio.checkpoint import (
    WEIGHTS_FILE,
    checkpoint_modality,
    load_pretrained,
    read_metadata,
    save_pretrained,
)
from hnet_bio.dtypes import cast_model
from hnet_bio.shipped import CARD_FILE
from pipelines.errors import UsageError
from pipelines.evaluation.heldout import training_units
from pipelines.inputs import apply_threads
from pipelines.packaging import measures as mm
from pipelines.packaging.card import render_card
from pipelines.runs import run_dir as rd
from pipelines.training.metrics import read_metrics
from pipelines.units import human_bytes

REPO_ROOT = Path(__file__).resolve().parents[1]
SLICE_DIR = REPO_ROOT / "tests" / "data" / "shipped"
MAX_WEIGHT_BYTES = 10_500_000  # "about 10 MB": a bigger file is packaged but warned about
CHOICES = ("last", "best")


@dataclass
class PackageResult:
    out_dir: Path
    slice_file: Path | None
    metadata: dict[str, Any]


def select_checkpoint(run: Path, choice: str) -> Path:
    """``last``: the newest complete checkpoint; ``best``: the one marked best by held-out eval;
    anything else: a checkpoint directory given by path."""
    if choice == "last":
        found = rd.latest_checkpoint(run)
    elif choice == "best":
        found = rd.best_checkpoint(run)
    else:
        found = Path(choice) if (Path(choice) / "config.json").is_file() else None
    if found is None:
        raise UsageError(f"{run}: no {choice} checkpoint (expected last, best or a checkpoint directory)")
    return Path(found)


def run_history(run: Path) -> dict[str, Any]:
    """Sessions and wall time from metrics.jsonl: each resume restarts ``elapsed_s`` from zero."""
    sessions: list[float] = []
    last = None
    for rec in read_metrics(run / "metrics.jsonl", kind="train"):
        e = rec.get("elapsed_s")
        if e is None:
            continue
        if last is None or e < last:
            sessions.append(0.0)
        sessions[-1] = max(sessions[-1], e)
        last = e
    return {"sessions": max(len(sessions), 1), "wall_time_s": round(sum(sessions), 1) if sessions else None}


def recipe_differences(recipe: Path, saved: dict[str, Any]) -> dict[str, list[Any]]:
    """Dotted keys whose value in the recipe file differs from the run's saved pretrain_config.json."""
    from pipelines.training.train_config import from_dict, load_config

    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
        return out

    # both through today's loader, so keys added since the run was saved read as their defaults
    a = flat(json.loads(json.dumps(load_config(recipe).to_dict())))
    b = flat(json.loads(json.dumps(from_dict(saved).to_dict())))
    return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def pretrain_command(recipe: Path, run: Path, diffs: dict[str, list[Any]]) -> str:
    """The command that reproduces the run: the recipe plus an override for every key it changed."""
    parts = ["hnet-bio", "pretrain", "--config", _rel(recipe), "--out", _rel(run)]
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _limitations(modality: str, meta: dict[str, Any], extra: list[str]) -> list[str]:
    t = meta["training"]
    out = [f"Small: {meta['parameters'] / 1e6:.2f}M parameters trained on {t['epochs']:.2f} epochs of "
           f"{human_bytes(t['split_bytes'])}; a demonstration model, not a state-of-the-art one.",
           f"Context is one window of {meta['seq_len']:,} bytes; nothing beyond it is used."]
    if modality == "dna":
        out += ["Trained on four bacterial genera (Escherichia, Helicobacter, Staphylococcus, Vibrio); "
                "other taxa (eukaryotes, viruses, other bacteria) are out of distribution: see the "
                "absent-genus number.",
                "Upper-case bases only (soft-masking is not modelled); reverse complements were seen "
                "through augmentation."]
    else:
        out += ["One studio voice (Asterisk's 'Allison' prompts), 8 kHz 8-bit mu-law (telephone "
                "quality); other speakers, music and noisy recordings are untested.",
                "The held-out files are other prompts of the same speaker: the number measures "
                "generalisation to new utterances, not to new voices."]
    out.append("The Markov anchor's best order is chosen on the held-out bytes themselves, which flatters "
               "the anchor slightly; xz and zstd see the windows concatenated, with context across windows.")
    if t["checkpoint_choice"] == "best":
        out.append("The shipped checkpoint was chosen by held-out bits/byte during training (a small "
                   "selection bias on the held-out numbers).")
    return out + list(extra)


def _evaluate(model: torch.nn.Module, windows: list[torch.Tensor], coverage: dict[str, Any], what: str,
              train_units: list | None, max_order: int, batch_size: int,
              say: TextIO | None) -> dict[str, Any]:
    """bits/byte and bytes per chunk of ``model`` on ``windows``, and the anchors on the same bytes."""
    m = mm.measure(model, windows, batch_size)
    out = {"what": what, **coverage, **m.to_json(), "window_bytes": int(windows[0].numel())}
    if say:
        say.write(f"package:   {m.bits_per_byte:.4f} bits/byte, bytes/chunk {m.bytes_per_chunk}\n")
    if train_units is not None:
        out["anchors"] = mm.classical_anchors(train_units, windows, max_order)
        if say:
            a = out["anchors"]
            say.write(f"package:   anchors: Markov order {a['markov_best_order']} {a['markov']:.4f}, "
                      f"xz {a['xz']:.4f}, zstd {a['zstd']:.4f}\n")
    return out


def package_model(run_dir: str | Path, name: str, checkpoint: str = "last", out_dir: str | Path | None = None,
                  recipe: str | Path | None = None, eval_windows: int = 512, absent_windows: int = 512,
                  batch_size: int = 8, max_order: int = 12, anchors: bool = True,
                  slice_out: str | Path | None = None, hardware: str | None = None,
                  limitations: list[str] | None = None, command: str | None = None,
                  progress: TextIO | None = None) -> PackageResult:
    """Package ``run_dir``'s checkpoint as shipped model ``name`` (see the module docstring)."""
    run = Path(run_dir)
    saved_path = run / "pretrain_config.json"
    if not saved_path.is_file():
        raise UsageError(f"{run}: not a pretraining run directory (no pretrain_config.json)")
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"--name {name!r}: expected a plain model name such as dna-bacteria-small")
    saved = json.loads(saved_path.read_text())
    corpus = saved["data"]["corpus"]
    if not isinstance(corpus, str) or "," in corpus or Path(corpus).suffix:
        raise UsageError(f"{run}: trained on files ({corpus!r}), not on a named corpus with a held-out split")
    if anchors:
        mm.anchor_functions()  # fail now, not after minutes of measuring
    ckpt = select_checkpoint(run, checkpoint)
    out = Path(out_dir) if out_dir is not None else registry.MODELS_DIR / name
    recipe_path = Path(recipe) if recipe is not None else REPO_ROOT / "configs" / f"pretrain-{name}.yaml"
    if not recipe_path.is_file():
        raise UsageError(f"{recipe_path}: no such recipe; give the one the run was started with (--recipe)")
    eval_fraction, seed = float(saved["data"].get("eval_fraction", 0.05)), int(saved["train"].get("seed", 0))
    seq_len = int(saved["train"]["seq_len"])
    say = progress

    # Everything read from the checkpoint is read now: a running training may rotate it away.
    ck_meta = read_metadata(ckpt)
    trainer_state = rd.load_trainer_state(ckpt)
    world = int(trainer_state.get("data_position", {}).get("world_size", 1))
    modality = checkpoint_modality(ck_meta)
    model32, _ = load_pretrained(ckpt)
    staging = out.parent / f".tmp-{out.name}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        if say:
            say.write(f"package: {name} from {ckpt} ({modality}); bf16 weights into {staging}\n")
        save_pretrained(cast_model(copy.deepcopy(model32), torch.bfloat16), staging)
        shipped, _ = load_pretrained(staging)  # float32, exactly what a user gets
        weights = staging / WEIGHTS_FILE
        if weights.stat().st_size > MAX_WEIGHT_BYTES and say:
            say.write(f"package: warning: {weights.stat().st_size:,} bytes of weights (> about 10 MB)\n")

        # The Markov anchor sees what the model saw: with reverse-complement augmentation, both strands.
        rc = bool(saved["train"].get("rc_augment", False))
        train_units = training_units(corpus, eval_fraction, seed, rc=rc) if anchors else None
        evaluation: dict[str, Any] = {
            "rule": "Bits per byte = total cross-entropy over all predicted bytes / their number / ln 2 "
                    "(`pipelines.training.evaluation.evaluate_bpb`, as in pretraining); for DNA one byte "
                    "is one base. The anchors are measured on exactly the same predicted bytes; the "
                    "Markov model is counted on the model's own training split"
                    + (" and its reverse complement (the model trained on both strands)." if rc and
                       modality == "dna" else ".")}
        if say:
            say.write(f"package: held-out split of {corpus} (up to {eval_windows} windows)\n")
        windows, coverage = mm.held_out_windows(corpus, seq_len, eval_windows, eval_fraction, seed)
        kind = "strains" if modality == "dna" else "files"
        subset = "an evenly spaced subset of" if len(windows) >= eval_windows else "all"
        what = (f"The held-out {kind} of `{corpus}` (the eval split of pretraining): {subset} its "
                "windows (a tail shorter than a window is left out).")
        evaluation["held_out"] = _evaluate(shipped, windows, coverage, what, train_units, max_order,
                                           batch_size, say)
        if modality == "dna" and absent_windows > 0:
            if say:
                say.write(f"package: absent genus, Leptospira (up to {absent_windows} windows)\n")
            windows, coverage = mm.absent_genus_windows(seq_len, absent_windows)
            what = ("The Leptospira draft genome of `dna-annotated` (any2fasta-examples, test.gbk.gz): a "
                    "genus in no training corpus.")
            evaluation["absent_genus"] = _evaluate(shipped, windows, coverage, what, train_units, max_order,
                                                   batch_size, say)
        del train_units
        if not anchors:
            evaluation["anchor_note"] = "The classical anchors were not measured for this card."

        sample_rate = ck_meta.get("sample_rate")
        s_windows, s_cov = mm.slice_windows(modality, REPO_ROOT / "tests" / "data", seq_len, sample_rate)
        s_ship = mm.measure(shipped, s_windows, batch_size)
        s_fp32 = mm.measure(model32, s_windows, batch_size)  # what bf16 storage costs
        corpus_desc = ck_meta.get("corpus", {})
        step = int(ck_meta.get("step") or trainer_state["step"])
        step_bytes = (int(saved["train"]["batch_size"]) * seq_len * int(saved["train"].get("grad_accum", 1))
                      * world)
        history = run_history(run)
        diffs = recipe_differences(recipe_path, saved)
        units = corpus_desc.get("units", [])
        split_names = sorted({Path(u["source"]).name if modality == "dna" else u["name"] for u in units})
        weights_sha = _sha256(weights)
        meta: dict[str, Any] = {
            "model_class": type(shipped).__name__, "name": name, "modality": modality,
            "byte_convention": ck_meta.get("byte_convention"), "seq_len": seq_len,
            **({"sample_rate": sample_rate} if sample_rate else {}),
            "train_bytes": int(ck_meta.get("train_bytes", step * step_bytes)), "step": step,
            "trained_by": "hnet-bio pretrain", "parameters": shipped.num_parameters(),
            "weights": {"file": WEIGHTS_FILE, "bytes": weights.stat().st_size, "sha256": weights_sha,
                        "dtype": "bfloat16; residual_proj and mixer.D in float32"},
            "training": {
                "corpus": corpus, "corpus_description": corpus_desc.get("source", {}).get("description", ""),
                "corpus_package": corpus_desc.get("source", {}).get("package"),
                "unit_kind": "genome files" if modality == "dna" else "audio files",
                "split_units": len(split_names), "split_names": split_names,
                "split_bytes": int(corpus_desc.get("total_bytes", 0)),
                "epochs": int(ck_meta.get("train_bytes", 0)) / max(int(corpus_desc.get("total_bytes", 0)), 1),
                "stages": len(shipped.config.target_ratios()),
                "steps": step, "max_steps": int(saved["train"]["max_steps"]), "step_bytes": step_bytes,
                "recipe": _rel(recipe_path), "recipe_differences": diffs,
                "command": pretrain_command(recipe_path, run, diffs),
                "sessions": history["sessions"], "wall_time_s": history["wall_time_s"],
                "wall_time_note": "the logged training time of every session, summed; start-up and "
                                  "evaluation pauses between logs are not counted",
                "hardware": hardware or default_hardware(world),
                "checkpoint_choice": checkpoint if checkpoint in CHOICES else "path",
                "source_checkpoint": _rel(ckpt),
                "target_ratio": list(shipped.config.target_ratios()),
            },
            "evaluation": evaluation,
            "regression_slice": {**s_cov, **s_ship.to_json(), "fp32_bits_per_byte": s_fp32.bits_per_byte},
            "packaged": {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                         "torch": torch.__version__, "hnet_bio": hnet_bio.__version__,
                         "command": command or "hnet-bio package"},
        }
        meta["limitations"] = _limitations(modality, meta, limitations or [])
        atomic_write_json(staging / "metadata.json", meta)
        atomic_write_json(staging / "pretrain_config.json", saved)
        atomic_write_text(staging / CARD_FILE, render_card(meta))
        _swap_into_place(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    slice_file = _write_slice(name, meta, slice_out)
    if say:
        say.write(f"package: wrote {out} ({meta['weights']['bytes']:,} bytes of weights)"
                  + (f" and {slice_file}" if slice_file else "") + "\n")
    return PackageResult(out, slice_file, meta)


def _rel(p: Path) -> str:
    """A path as the card should show it: relative to the checkout when inside it."""
    try:
        return str(Path(p).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


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


def _write_slice(name: str, meta: dict[str, Any], slice_out: str | Path | None) -> Path | None:
    """tests/data/shipped/NAME.json: what the regression test must find again (None outside a checkout)."""
    target = Path(slice_out) if slice_out is not None else SLICE_DIR / f"{name}.json"
    if slice_out is None and not SLICE_DIR.parent.is_dir():
        return None
    reg = meta["regression_slice"]
    atomic_write_json(target, {
        "name": name, "modality": meta["modality"], "seq_len": meta["seq_len"],
        "sample_rate": meta.get("sample_rate"), **reg, "target_ratio": meta["training"]["target_ratio"],
        "weights_sha256": meta["weights"]["sha256"], "step": meta["step"], "torch": meta["packaged"]["torch"],
    })
    return target


# --------------------------------------------------------------------------- CLI

def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("package", help="package a pretraining run as a shipped model with its card",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="the pretraining run directory")
    p.add_argument("--name", required=True, help="shipped model name, e.g. dna-bacteria-small")
    p.add_argument("--checkpoint", default="last",
                   help="last (default), best (by held-out eval during training) or a checkpoint directory")
    p.add_argument("--out", help="model directory (default: hnet_bio/models/NAME)")
    p.add_argument("--recipe", help="the run's recipe (default: configs/pretrain-NAME.yaml)")
    p.add_argument("--eval-windows", type=int, default=512, help="held-out windows, evenly spaced (512)")
    p.add_argument("--absent-windows", type=int, default=512,
                   help="Leptospira windows for DNA (512; 0: none)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-order", type=int, default=12, help="highest Markov order of the anchor (12)")
    p.add_argument("--no-anchors", action="store_true", help="skip the Markov / xz / zstd anchors")
    p.add_argument("--slice-out", help="regression numbers file (default tests/data/shipped/NAME.json)")
    p.add_argument("--hardware", help="where the run trained, for the card (default: what the run records)")
    p.add_argument("--limitation", action="append", default=[], help="an extra known limitation (repeatable)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the measurements")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.eval_windows < 1 or args.absent_windows < 0 or args.batch_size < 1:
        raise UsageError("--eval-windows and --batch-size must be >= 1, --absent-windows >= 0")
    if not 0 <= args.max_order <= 32:
        raise UsageError("--max-order must be in 0..32")
    apply_threads(args.threads)
    argv = sys.argv[1:]
    command = None
    if "package" in argv:  # the card records the exact command that made it
        command = f"hnet-bio package {shlex.join(argv[argv.index('package') + 1:])}"
    package_model(args.run, args.name, args.checkpoint, args.out, args.recipe, args.eval_windows,
                  args.absent_windows, args.batch_size, args.max_order, not args.no_anchors, args.slice_out,
                  args.hardware, args.limitation, command, None if args.quiet else sys.stderr)
    return 0
