"""Every number of a comparison, read from its run directories (finished or not) and measured once.

Neural numbers come from each arm's ``metrics.jsonl`` (the held-out evaluations at log-spaced
training bytes) and its last checkpoint (the extra held-out sets). Anchors (Markov, xz, zstd) are
measured on exactly the held-out windows the arms were evaluated on and cached in
``OUT/anchors.json`` (they depend on the recipe only), so ``--report-only`` is quick. `gather`
puts them together once, as the `ComparisonResults` the report and figures read.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hnet_bio import __version__
from hnet_bio.atomic import atomic_write_json
from modalities.corpora import open_corpus
from modalities.datasets import RandomWindows
from pipelines.comparison import efficiency as eff
from pipelines.comparison.compare_dir import CompareManifest, arm_run
from pipelines.comparison.recipe import CompareRecipe, model_flops, model_params
from pipelines.comparison.results import (
    Anchors,
    ArmFlops,
    ArmIntervals,
    ArmResult,
    ComparisonResults,
    CurvePoint,
    Efficiency,
    ExtraEval,
    ExtraEvalEntry,
    Machine,
    Reading,
    SeenBytesPoint,
)
from pipelines.evaluation.anchors import MarkovResult, compressed_bpb, markov_bpb, markov_bpb_sets
from pipelines.evaluation.heldout import evaluate_checkpoint, held_out_windows, training_units
from pipelines.evaluation.intervals import Interval, bootstrap_mean, paired_difference
from pipelines.evaluation.result import AnchorNumbers
from pipelines.runs.run_dir import RunDir

ANCHORS_FILE = "anchors.json"
EXTRA_FILE = "extra_eval.json"  # per run directory: the last checkpoint on the extra held-out sets
ANCHOR_KEYS = ("data", "train", "budget", "seeds", "eval_data", "anchors")  # what the anchors depend on


def gather(out: Path, manifest: CompareManifest, verbose: bool = True) -> ComparisonResults:
    """Every number of the report, from the run directories of ``out`` and the anchors."""
    recipe = CompareRecipe.from_json(manifest.recipe)
    arms = {a.name: {s: arm_numbers(arm_run(out, a.name, s)) for s in recipe.seeds} for a in recipe.arms}
    started = any(r.curve for per in arms.values() for r in per.values())
    return ComparisonResults(
        recipe=recipe,
        recipe_json=manifest.recipe,
        commands=manifest.commands,
        created=manifest.created,
        reported=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        machine=machine(),
        arms=arms,
        flops_per_byte=flops_numbers(recipe, arms),
        efficiency=efficiency_numbers(recipe, arms),
        anchors=anchor_numbers(out, recipe, verbose) if started else None,
        extra_eval=extra_numbers(out, recipe) if started else {},
        complete=all(r.completed for per in arms.values() for r in per.values()),
        intervals={name: {s: arm_intervals(r, recipe.stable_end()) for s, r in per.items()}
                   for name, per in arms.items()},
    )


def arm_numbers(run: RunDir) -> ArmResult:
    """Curve, throughput and state of one run directory (empty curve when it has not started)."""
    train = run.train_records()
    rates = [r.bytes_per_s for r in train if r.bytes_per_s]
    summary = run.summary()
    return ArmResult(
        curve=[CurvePoint(r.train_bytes, r.eval_bpb, r.eval_compression, tuple(r.eval_window_bpb or ()))
               for r in run.eval_records() if r.train_bytes > 0],
        bytes_per_s=statistics.median(rates) if rates else None,
        train_bytes=train[-1].train_bytes if train else 0,
        completed=summary is not None and summary.completed,
    )


def arm_intervals(run: ArmResult, stable_end: int) -> ArmIntervals:
    """The run's bits/byte with bootstrap intervals at the end of the stable phase and at the end."""

    def interval(point: CurvePoint | None) -> Interval | None:
        return bootstrap_mean(point.window_bpb) if point is not None and point.window_bpb else None

    final = run.curve[-1] if run.curve else None
    return ArmIntervals(stable=interval(run.at(stable_end)), final=interval(final))


def reading(recipe: CompareRecipe, ref: dict[int, ArmResult], base: dict[int, ArmResult],
            at_bytes: int) -> Reading | None:
    """Both-way multipliers and paired gaps at ``at_bytes`` for every seed both arms evaluated there."""
    seeds, mults, gaps = [], [], []
    for seed in recipe.seeds:
        r, b = ref.get(seed), base.get(seed)
        pr, pb = (r.at(at_bytes) if r else None), (b.at(at_bytes) if b else None)
        if r is None or b is None or pr is None or pb is None:
            continue
        seeds.append(seed)
        mults.append(eff.matched_multiplier(r.points(), b.points(), at_bytes))
        paired = pr.window_bpb and len(pr.window_bpb) == len(pb.window_bpb)
        gaps.append(paired_difference(pr.window_bpb, pb.window_bpb) if paired else None)
    if not mults:
        return None
    return Reading(at_bytes=at_bytes, seeds=seeds, per_seed=mults, spread=eff.spread(mults), gaps=gaps)


def median_curve(per_seed: dict[int, ArmResult]) -> list[tuple[float, float, float, float]]:
    """(bytes, median, min, max) over seeds at each evaluation point all seeds share."""
    by_bytes: dict[float, list[float]] = {}
    for r in per_seed.values():
        for p in r.curve:
            by_bytes.setdefault(p.train_bytes, []).append(p.bpb)
    return [(b, statistics.median(v), min(v), max(v)) for b, v in sorted(by_bytes.items())]


def efficiency_numbers(recipe: CompareRecipe, arms: dict[str, dict[int, ArmResult]]) -> list[Efficiency]:
    """For each reference (H-Net) arm and baseline arm: multiplier per seed, its spread, the gap at
    equal bytes and the multiplier at every reference evaluation in the last decade."""
    out = []
    for ref in recipe.reference:
        for base in (a.name for a in recipe.arms):
            if base == ref or base in recipe.reference:
                continue
            per_seed: list[eff.Multiplier] = []
            gaps: list[float | None] = []
            curves: dict[int, list[eff.Multiplier]] = {}
            for seed in recipe.seeds:
                r, b = arms[ref].get(seed), arms[base].get(seed)
                if r is None or b is None or not r.curve or not b.curve:
                    continue
                rb, rv = r.points()[-1]
                gap = eff.value_at(b.points(), rb)
                per_seed.append(eff.multiplier(rb, rv, b.points()))
                gaps.append(None if gap is None else gap - rv)
                last_decade = [(x, v) for x, v in r.points() if x >= rb / 10]
                curves[seed] = [m for _, m in eff.multiplier_curve(last_decade, b.points())]
            if per_seed:
                out.append(Efficiency(reference=ref, baseline=base, per_seed=per_seed,
                                      spread=eff.spread(per_seed), gaps=gaps, curve=curves,
                                      stable=reading(recipe, arms[ref], arms[base], recipe.stable_end()),
                                      end=reading(recipe, arms[ref], arms[base], recipe.budget_end())))
    return out


def flops_numbers(recipe: CompareRecipe, arms: dict[str, dict[int, ArmResult]]) -> dict[str, ArmFlops]:
    """Training FLOPs/byte of each arm at its target ratios and at the compression it reached."""
    seq_len = recipe.train_config(0).seq_len
    out = {}
    for a in recipe.arms:
        target = model_flops(a.model, seq_len)
        reached = None
        comps = [s.final_compression for s in arms[a.name].values() if s.final_compression]
        if comps and a.hierarchical:
            ratios = [statistics.mean(c[i] for c in comps) for i in range(len(comps[0]))]  # seeds' mean
            reached = model_flops(a.model, seq_len, ratios)
        elif not a.hierarchical:
            reached = target  # no chunking: nothing to reach
        out[a.name] = ArmFlops(at_target=target, at_reached=reached, params=model_params(a.model))
    return out


def anchor_numbers(out: Path, recipe: CompareRecipe, verbose: bool = True) -> Anchors:
    """Markov (whole training split, and the windows the arms saw), xz and zstd; cached."""
    cache = out / ANCHORS_FILE
    recorded = recipe.to_json()
    key = {k: recorded[k] for k in ANCHOR_KEYS}
    key["version"] = 2  # 2: reverse complements counted when the arms trained with rc_augment
    if cache.is_file():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            return Anchors.from_json(stored["anchors"])
    data, train, max_order = recipe.data, recipe.train_config(0), recipe.max_order
    seq_len, seed = train.seq_len, data.split_seed_for(recipe.seeds[0])
    windows, _ = held_out_windows(data.corpus, seq_len, "eval", None, data.eval_fraction, seed,
                                  train.eval_windows, data.data_dir)
    if verbose:
        print(
            f"compare: anchors: Markov k=0..{max_order} on the training split, xz, zstd ...",
            file=sys.stderr,
            flush=True,
        )
    units = training_units(data.corpus, data.eval_fraction, seed, data.data_dir, rc=train.rc_augment)
    extra_windows = {name: held_out_windows(spec, seq_len, "all", None, data.eval_fraction, seed,
                                            train.eval_windows)[0]
                     for name, spec in recipe.eval_data.items()}
    arrays = [[np.asarray(w, dtype=np.uint8) for w in ws] for ws in (windows, *extra_windows.values())]
    markov = markov_bpb_sets(units, arrays, max_order)  # one count of the training split for all sets
    seen_windows = _seen_windows(recipe, recipe.seeds[0])
    seen_curve = []
    for b in _log_points(recipe, 2):
        n = max(1, b // seq_len)
        m = markov_bpb(seen_windows[:n], arrays[0], max_order)
        seen_curve.append(SeenBytesPoint(train_bytes=n * seq_len, bpb=m.best_bpb, best_order=m.best_order))
    anchors = Anchors(
        held_out=_anchor_set(markov[0], arrays[0]),
        markov_on_seen_bytes=seen_curve,
        extra={name: _anchor_set(mk, ws) for name, mk, ws in zip(extra_windows, markov[1:], arrays[1:])},
    )
    atomic_write_json(cache, {"key": key, "anchors": anchors.to_json()})
    return anchors


def _anchor_set(markov: MarkovResult, windows: list[np.ndarray]) -> AnchorNumbers:
    compressed = compressed_bpb(windows)
    return AnchorNumbers(markov, xz=compressed.xz, zstd=compressed.zstd, compressed=compressed.data_bytes)


def _log_points(recipe: CompareRecipe, per_decade: int) -> list[int]:
    """``per_decade`` log-spaced training-byte counts from the budget down to one step."""
    points, k = [], 0
    while (b := round(recipe.budget * 10 ** (-k / per_decade))) >= recipe.step_bytes():
        points.append(b)
        k += 1
    return sorted(set(points))


def _seen_windows(recipe: CompareRecipe, seed: int) -> list[np.ndarray]:
    """The training windows the arms read, in order, up to the budget (RandomWindows items 0..n-1)."""
    data, train = recipe.data, recipe.train_config(seed)
    corpus = open_corpus(data.corpus, split="train", data_dir=data.data_dir, eval_fraction=data.eval_fraction,
                         seed=data.split_seed_for(seed))
    ds = RandomWindows(corpus, length=train.seq_len + 1, seed=seed, rc_augment=train.rc_augment)
    step_bytes = recipe.step_bytes()
    n = math.ceil(recipe.budget / step_bytes) * step_bytes // train.seq_len
    return [ds[i].numpy() for i in range(n)]


def extra_numbers(out: Path, recipe: CompareRecipe) -> ExtraEval:
    """Each arm's last checkpoint on each extra held-out set (cached in its run directory)."""
    result: ExtraEval = {}
    train = recipe.train_config(0)
    for name, spec in recipe.eval_data.items():
        result[name] = {}
        for a in recipe.arms:
            result[name][a.name] = {}
            for seed in recipe.seeds:
                run = arm_run(out, a.name, seed)
                ckpt = run.latest_checkpoint()
                if ckpt is None:
                    continue
                cache = run.path / EXTRA_FILE
                stored = ({k: ExtraEvalEntry.from_json(e) for k, e in json.loads(cache.read_text()).items()}
                          if cache.is_file() else {})
                entry = stored.get(name)
                if (entry is None or entry.checkpoint != str(ckpt) or entry.spec != spec
                        or entry.interval is None or entry.max_windows != train.eval_windows):
                    r = evaluate_checkpoint(ckpt, spec, split="all", seq_len=train.seq_len,
                                            max_windows=train.eval_windows, anchors=False)
                    entry = ExtraEvalEntry(checkpoint=str(ckpt), spec=spec, bpb=r.bits_per_byte,
                                           predicted_bytes=r.predicted_bytes, compression=r.bytes_per_chunk,
                                           interval=bootstrap_mean(r.window_bpb),
                                           max_windows=train.eval_windows)
                    stored[name] = entry
                    atomic_write_json(cache, {k: e.to_json() for k, e in stored.items()})
                result[name][a.name][seed] = entry
    return result


def machine() -> Machine:
    return Machine(
        python=sys.version.split()[0],
        torch=torch.__version__,
        numpy=np.__version__,
        hnet_bio=__version__,
        platform=platform.platform(),
        processor=platform.processor(),
        cpus=os.cpu_count(),
        threads=torch.get_num_threads(),
        cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    )
