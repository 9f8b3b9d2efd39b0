"""Every number of a comparison, read from its run directories (finished or not) and measured once.

Neural numbers come from each arm's ``metrics.jsonl`` (the held-out evaluations at log-spaced
training bytes) and its last checkpoint (the extra held-out sets). Anchors (Markov, xz, zstd) are
measured on exactly the held-out windows the arms were evaluated on and cached in
``OUT/anchors.json`` (they depend on the recipe only), so ``--report-only`` is quick.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hnet_bio import __version__, build_model
from hnet_bio.atomic import atomic_write_json
from hnet_bio.config import HNetConfig
from modalities.corpora import open_corpus
from modalities.datasets import RandomWindows
from pipelines.comparison import efficiency as eff
from pipelines.comparison.compare_dir import arm_run
from pipelines.comparison.recipe import POINTS_PER_DECADE, model_flops
from pipelines.evaluation.anchors import compressed_bpb, markov_bpb, markov_bpb_sets
from pipelines.evaluation.heldout import evaluate_checkpoint, held_out_windows, training_units
from pipelines.runs.run_dir import RunDir

ANCHORS_FILE = "anchors.json"
EXTRA_FILE = "extra_eval.json"  # per run directory: the last checkpoint on the extra held-out sets


def arm_numbers(run: RunDir) -> dict[str, Any]:
    """Curve, throughput and state of one run directory (empty curve when it has not started)."""
    train = run.train_records()
    rates = [r.bytes_per_s for r in train if r.bytes_per_s]
    summary = run.summary()
    curve = [
        {"train_bytes": r.train_bytes, "bpb": r.eval_bpb, "compression": r.eval_compression}
        for r in run.eval_records()
        if r.train_bytes > 0
    ]
    return {
        "curve": curve,
        "bytes_per_s": statistics.median(rates) if rates else None,
        "train_bytes": train[-1].train_bytes if train else 0,
        "completed": summary is not None and summary.completed,
        "final_bpb": curve[-1]["bpb"] if curve else None,
        "final_compression": curve[-1]["compression"] if curve else [],
    }


def median_curve(per_seed: dict[str, dict[str, Any]]) -> list[tuple[float, float, float, float]]:
    """(bytes, median, min, max) over seeds at each evaluation point all seeds share."""
    by_bytes: dict[float, list[float]] = {}
    for r in per_seed.values():
        for p in r["curve"]:
            by_bytes.setdefault(p["train_bytes"], []).append(p["bpb"])
    return [(b, statistics.median(v), min(v), max(v)) for b, v in sorted(by_bytes.items())]


def _points(arm: dict[str, Any]) -> list[tuple[float, float]]:
    return [(p["train_bytes"], p["bpb"]) for p in arm["curve"]]


def efficiency_numbers(
    recipe: dict[str, Any], arms: dict[str, dict[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """For each reference (H-Net) arm and baseline arm: multiplier per seed, its spread, the gap at
    equal bytes and the multiplier at every reference evaluation in the last decade."""
    out = []
    names = [a["name"] for a in recipe["arms"]]
    for ref in recipe["reference"]:
        for base in names:
            if base == ref or base in recipe["reference"]:
                continue
            per_seed, gaps, curves = [], [], {}
            for seed in recipe["seeds"]:
                r, b = arms[ref].get(seed), arms[base].get(seed)
                if not r or not b or not r["curve"] or not b["curve"]:
                    continue
                rb, rv = _points(r)[-1]
                m = eff.multiplier(rb, rv, _points(b))
                gap = eff.value_at(_points(b), rb)
                per_seed.append(m)
                gaps.append(None if gap is None else gap - rv)
                last_decade = [(x, v) for x, v in _points(r) if x >= rb / 10]
                curves[seed] = [
                    {"reference_bytes": x, **mm.to_json()}
                    for x, mm in eff.multiplier_curve(last_decade, _points(b))
                ]
            if per_seed:
                out.append(
                    {
                        "reference": ref,
                        "baseline": base,
                        "per_seed": [m.to_json() for m in per_seed],
                        "spread": eff.spread(per_seed),
                        "gap_bpb_at_equal_bytes": gaps,
                        "curve": curves,
                    }
                )
    return out


def flops_numbers(recipe: dict[str, Any], arms: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    """Training FLOPs/byte of each arm at its target ratios and at the compression it reached."""
    seq_len = int(recipe["train"].get("seq_len", 1024))
    out = {}
    for a in recipe["arms"]:
        target = model_flops(a["model"], seq_len)
        reached = None
        comps = [s["final_compression"] for s in arms[a["name"]].values() if s["final_compression"]]
        if comps and any(isinstance(x, list) for x in a["model"]["arch_layout"]):
            ratios = [statistics.mean(c[i] for c in comps) for i in range(len(comps[0]))]  # seeds' mean
            reached = model_flops(a["model"], seq_len, ratios)
        elif not any(isinstance(x, list) for x in a["model"]["arch_layout"]):
            reached = target  # no chunking: nothing to reach
        out[a["name"]] = {"at_target": target, "at_reached": reached, "params": _params(a["model"])}
    return out


def _params(model: dict[str, Any]) -> int:
    with torch.device("meta"):
        return int(
            sum(
                p.numel()
                for p in build_model(HNetConfig.from_dict(json.loads(json.dumps(model)))).parameters()
            )
        )


def anchor_numbers(out: Path, recipe: dict[str, Any], verbose: bool = True) -> dict[str, Any]:
    """Markov (whole training split, and the windows the arms saw), xz and zstd; cached."""
    cache = out / ANCHORS_FILE
    key = {k: recipe[k] for k in ("data", "train", "budget", "seeds", "eval_data", "anchors")}
    key["version"] = 2  # 2: reverse complements counted when the arms trained with rc_augment
    if cache.is_file():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            return stored["anchors"]
    data, train = recipe["data"], recipe["train"]
    seq_len, max_order = int(train.get("seq_len", 1024)), int(recipe["anchors"]["max_order"])
    seed = recipe["seeds"][0]
    windows, _ = held_out_windows(
        data["corpus"],
        seq_len,
        "eval",
        None,
        data["eval_fraction"],
        seed,
        int(train.get("eval_windows", 64)),
        data.get("data_dir"),
    )
    if verbose:
        print(
            f"compare: anchors: Markov k=0..{max_order} on the training split, xz, zstd ...",
            file=sys.stderr,
            flush=True,
        )
    units = training_units(data["corpus"], data["eval_fraction"], seed, data.get("data_dir"),
                           rc=bool(train.get("rc_augment", False)))
    extra_windows = {name: held_out_windows(spec, seq_len, "all", None, data["eval_fraction"], seed,
                                            int(train.get("eval_windows", 64)))[0]
                     for name, spec in recipe["eval_data"].items()}
    arrays = [[np.asarray(w, dtype=np.uint8) for w in ws] for ws in (windows, *extra_windows.values())]
    markov = markov_bpb_sets(units, arrays, max_order)  # one count of the training split for all sets
    result: dict[str, Any] = {"held_out": {"markov": markov[0].to_json(), **compressed_bpb(arrays[0])}}
    seen_windows = _seen_windows(recipe, seed)
    seen_curve = []
    for b in _log_points(recipe["eval_points"], 2):
        n = max(1, b // seq_len)
        m = markov_bpb(seen_windows[:n], arrays[0], max_order)
        seen_curve.append({"train_bytes": n * seq_len, "bpb": m.best_bpb, "best_order": m.best_order})
    result["markov_on_seen_bytes"] = seen_curve
    result["extra"] = {name: {"markov": mk.to_json(), **compressed_bpb(ws)}
                       for (name, _), mk, ws in zip(extra_windows.items(), markov[1:], arrays[1:])}
    atomic_write_json(cache, {"key": key, "anchors": result})
    return result


def _log_points(points: list[int], per_decade: int) -> list[int]:
    """A coarser subset of the log-spaced evaluation points (always including the last)."""
    stride = max(1, POINTS_PER_DECADE // per_decade)
    return sorted(set(points[::-1][::stride]))


def _seen_windows(recipe: dict[str, Any], seed: int) -> list[np.ndarray]:
    """The training windows the arms read, in order, up to the budget (RandomWindows items 0..n-1)."""
    data, train = recipe["data"], recipe["train"]
    seq_len = int(train.get("seq_len", 1024))
    corpus = open_corpus(
        data["corpus"],
        split="train",
        data_dir=data.get("data_dir"),
        eval_fraction=data["eval_fraction"],
        seed=seed,
    )
    ds = RandomWindows(corpus, length=seq_len + 1, seed=seed, rc_augment=bool(train.get("rc_augment", False)))
    n = math.ceil(recipe["budget"] / recipe["step_bytes"]) * recipe["step_bytes"] // seq_len
    return [ds[i].numpy() for i in range(n)]


def extra_numbers(out: Path, recipe: dict[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each arm's last checkpoint on each extra held-out set (cached in its run directory)."""
    result: dict[str, dict[str, dict[str, float | None]]] = {}
    train = recipe["train"]
    for name, spec in recipe["eval_data"].items():
        result[name] = {}
        for a in recipe["arms"]:
            result[name][a["name"]] = {}
            for seed in recipe["seeds"]:
                run = arm_run(out, a["name"], seed)
                ckpt = run.latest_checkpoint()
                if ckpt is None:
                    continue
                cache = run.path / EXTRA_FILE
                stored = json.loads(cache.read_text()) if cache.is_file() else {}
                entry = stored.get(name)
                if not entry or entry.get("checkpoint") != str(ckpt) or entry.get("spec") != spec:
                    r = evaluate_checkpoint(
                        ckpt,
                        spec,
                        split="all",
                        seq_len=int(train.get("seq_len", 1024)),
                        max_windows=int(train.get("eval_windows", 64)),
                        anchors=False,
                    )
                    entry = {
                        "checkpoint": str(ckpt),
                        "spec": spec,
                        "bpb": r.bits_per_byte,
                        "bytes": r.predicted_bytes,
                        "compression": r.bytes_per_chunk,
                    }
                    stored[name] = entry
                    atomic_write_json(cache, stored)
                result[name][a["name"]][str(seed)] = entry["bpb"]
    return result


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "hnet_bio": __version__,
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
