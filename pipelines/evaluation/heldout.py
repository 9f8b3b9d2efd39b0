"""Held-out evaluation of one checkpoint: the windows, the number, the classical anchors beside it.

The number is pretraining's own (`pipelines.training.evaluation.evaluate_bpb`): total nats over
all predicted bytes of contiguous non-overlapping windows of ``seq_len + 1`` bytes, each byte
predicted from context inside its window. The classical anchors (`pipelines.evaluation.anchors`)
are measured on exactly the same predicted bytes. `hnet-bio evaluate`, `compare` and `package`
all evaluate through here.
"""


from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hnet_bio import shipped
from hnet_bio.checkpoint import read_metadata
from pipelines.errors import UsageError

SPLITS = ("eval", "all")


@dataclass
class _Units:
    """The two things `EvalWindows` reads (``lengths``, ``read``) over in-memory byte strings."""

    arrays: list[np.ndarray]

    @property
    def lengths(self) -> list[int]:
        return [a.size for a in self.arrays]

    def read(self, i: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        return self.arrays[i][start:stop].copy()


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint directory, a run directory (its best checkpoint, else its newest), or the name
    of a shipped model (`hnet-bio models`)."""
    from pipelines.runs import run_dir as rd

    p = Path(path)
    if not p.exists():
        return shipped.resolve_checkpoint(p)  # a shipped name, or one line listing the known names
    if (p / "config.json").is_file():
        return p
    if (p / rd.CHECKPOINTS).is_dir():
        found = rd.best_checkpoint(p) or rd.latest_checkpoint(p)
        if found is not None:
            return Path(found)
    raise UsageError(f"{p}: not a checkpoint directory (no config.json) nor a run directory with checkpoints")


def recorded_recipe(checkpoint: Path) -> dict[str, Any]:
    """The pretraining recipe saved beside a checkpoint (RUN/checkpoints/step-N), or {}."""
    for cand in (checkpoint.parent.parent / "pretrain_config.json", checkpoint / "pretrain_config.json"):
        if cand.is_file():
            try:
                return json.loads(cand.read_text())
            except json.JSONDecodeError:
                return {}
    return {}


def _corpus_spec(data: str | list[str]) -> str | list[str]:
    return data[0] if isinstance(data, list) and len(data) == 1 else data


def held_out_windows(data: str | list[str], seq_len: int, split: str = "eval",
                     regions: list[str] | None = None, eval_fraction: float = 0.05, seed: int = 0,
                     max_windows: int | None = None,
                     data_dir: str | None = None) -> tuple[list[torch.Tensor], str]:
    """The evaluation windows ((seq_len + 1,) uint8 each) and the modality of ``data``.

    regions: DNA ``chr:start-end`` strings read from the given files (the first file holding the
    record); the windows then tile just those regions and ``split`` is ignored.
    """
    from modalities.corpora import open_corpus

    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if regions:
        from modalities.dna import read_sequence
        from modalities.errors import RegionError

        files = [data] if isinstance(data, str) else list(data)
        arrays = []
        for region in regions:
            seq, last_error = None, None
            for f in files:
                try:
                    seq = read_sequence(f, region)
                    break
                except RegionError as exc:
                    last_error = exc
            if seq is None:
                raise last_error or UsageError(f"region {region}: not found in {', '.join(files)}")
            arrays.append(np.frombuffer(seq, dtype=np.uint8))
        source: Any = _Units(arrays)
        modality = "dna"
    else:
        source = open_corpus(_corpus_spec(data), split=split, data_dir=data_dir,
                             eval_fraction=eval_fraction, seed=seed)
        modality = source.modality
    windows = corpus_windows(source, seq_len, max_windows)
    if not windows:
        raise UsageError(f"{data}: no window of {seq_len + 1} bytes in the {split} split; "
                         "use --split all, a shorter --seq-len or longer data")
    return windows, modality


def corpus_windows(source: Any, seq_len: int, max_windows: int | None = None) -> list[torch.Tensor]:
    """The fixed evaluation windows ((seq_len + 1,) uint8 each) of a corpus split, as pretraining
    evaluates them (`modalities.datasets.EvalWindows`); empty when no window fits."""
    from modalities.datasets import EvalWindows

    windows = EvalWindows(source, length=seq_len + 1, max_windows=max_windows)
    return [windows[i] for i in range(len(windows))]


def anchor_numbers(train_units: list[np.ndarray], windows: list[torch.Tensor] | list[np.ndarray],
                   max_order: int) -> dict[str, Any]:
    """Markov (every order, best) and xz/zstd bits/byte on the windows' predicted bytes."""
    from pipelines.evaluation.anchors import compressed_bpb, markov_bpb

    arrays = [np.asarray(w, dtype=np.uint8) for w in windows]
    return {"markov": markov_bpb(train_units, arrays, max_order).to_json(), **compressed_bpb(arrays)}


def training_units(spec: str | list[str], eval_fraction: float, seed: int, data_dir: str | None = None,
                   rc: bool = False) -> list[np.ndarray]:
    """Every unit of the training split of ``spec``, as uint8 arrays; with ``rc`` (DNA trained with
    reverse-complement augmentation) their reverse complements too, as the neural model saw both."""
    from modalities.corpora import open_corpus
    from modalities.datasets import reverse_complement_array

    corpus = open_corpus(_corpus_spec(spec), split="train", data_dir=data_dir,
                         eval_fraction=eval_fraction, seed=seed)
    units = [corpus.read(i) for i in range(len(corpus))]
    if rc and corpus.modality == "dna":
        units += [reverse_complement_array(u) for u in units]
    return units


def evaluate_checkpoint(checkpoint: str | os.PathLike[str], data: str | list[str], *,
                        regions: list[str] | None = None, split: str = "eval", seq_len: int | None = None,
                        max_windows: int | None = None, batch_size: int = 8, anchors: bool = True,
                        anchor_train: str | list[str] | None = None, max_order: int = 12) -> dict[str, Any]:
    """Held-out bits/byte, bytes per chunk per stage and anchors of one checkpoint on ``data``."""
    from hnet_bio.checkpoint import load_pretrained
    from pipelines.training.distributed import DistEnv
    from pipelines.training.evaluation import evaluate_bpb

    ckpt = resolve_checkpoint(checkpoint)
    meta = read_metadata(ckpt)
    recipe = recorded_recipe(ckpt)
    rdata, rtrain = recipe.get("data", {}), recipe.get("train", {})
    eval_fraction = float(rdata.get("eval_fraction", 0.05))
    seed = int(rtrain.get("seed", 0))
    seq_len = int(seq_len or meta.get("seq_len") or rtrain.get("seq_len") or 1024)
    windows, modality = held_out_windows(data, seq_len, split, regions, eval_fraction, seed, max_windows)
    trained_on = meta.get("modality")
    if trained_on and trained_on != modality:
        raise UsageError(f"{ckpt}: a {trained_on} checkpoint cannot be evaluated on {modality} data ({data})")
    model, _ = load_pretrained(ckpt)
    t0 = time.perf_counter()
    ev = evaluate_bpb(model, windows, DistEnv(), batch_size)
    seconds = time.perf_counter() - t0
    result: dict[str, Any] = {
        "checkpoint": str(ckpt), "model_class": type(model).__name__, "data": data, "regions": regions or [],
        "split": "regions" if regions else split, "seq_len": seq_len, "windows": len(windows),
        "bits_per_byte": ev["eval_bpb"], "predicted_bytes": ev["eval_bytes"],
        "bytes_per_chunk": ev["eval_compression"], "seconds": round(seconds, 3),
    }
    if anchors:
        spec = anchor_train or (rdata.get("corpus") if recipe else None) or data
        result["anchor_train"] = spec
        train = training_units(spec, eval_fraction, seed, rc=bool(rtrain.get("rc_augment", False)))
        result["anchors"] = anchor_numbers(train, windows, max_order)
    return result


def format_table(r: dict[str, Any]) -> str:
    """The result as a small aligned table for the terminal."""
    rows = [("checkpoint", r["checkpoint"]), ("model", r["model_class"]),
            ("held-out bytes", f"{r['predicted_bytes']:,} in {r['windows']} windows of {r['seq_len'] + 1}"),
            ("bits/byte", f"{r['bits_per_byte']:.4f}")]
    for s, c in enumerate(r["bytes_per_chunk"]):
        rows.append((f"bytes/chunk stage {s}", f"{c:.2f}"))
    a = r.get("anchors")
    if a:
        m = a["markov"]
        rows += [(f"Markov order {m['best_order']} (best of 0..{len(m['bpb_by_order']) - 1})",
                  f"{m['best_bpb']:.4f}"),
                 ("xz -9e", f"{a['xz']:.4f}"), ("zstd -19", f"{a['zstd']:.4f}")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
