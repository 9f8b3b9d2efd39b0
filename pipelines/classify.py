"""`hnet-bio classify`: a linear probe on H-Net embeddings next to the baselines a user would try.

    hnet-bio classify --task organism|coding|speech-music --checkpoint DIR [--baseline-checkpoint DIR]
        --out results.json            (also writes results.md)
    hnet-bio classify --labels FILE.tsv (--fasta FILE | audio paths in the TSV) --checkpoint DIR --out r.json

Rows of the table (each the same probe, pipelines/features/probe.py):
- the checkpoint's embeddings (``--level``, ``--pooling``; pipelines/features/embedding.py);
- for an H-Net, stage-0 states averaged over its learned chunks vs over a fixed grid with the
  same number of chunks (do the learned cut points matter?);
- the same architecture with random weights (``--no-random-init`` drops it): what the probe gets
  from the architecture alone;
- ``--baseline-checkpoint``: the isotropic baseline's embeddings (same level name and pooling);
- DNA: GC content, and k-mer frequencies with k in 1..6 chosen by CV on the training set;
  audio: log-mel statistics.
The labels file has one example per line: ``sequence<TAB>label[<TAB>train|test]``, where a
sequence is a record name or region (``chr:start-end[:-]``) of --fasta, or an audio file path
(relative to the TSV). Without a split column, metrics are out-of-fold over 5-fold CV.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from hnet_bio.atomic import atomic_write_text
from hnet_bio.checkpoint import checkpoint_modality, load_pretrained, read_metadata
from hnet_bio.lm import build_model
from pipelines.analysis import DEFAULT_STRIDE, DEFAULT_WINDOW, analyze_many, hidden_levels, num_stages
from pipelines.errors import UsageError
from pipelines.features.baselines import gc_content, kmer_frequencies, logmel_stats
from pipelines.features.embedding import DEFAULT_LEVEL, DEFAULT_POOLING, POOLINGS, pool
from pipelines.features.labels import read_labels
from pipelines.features.probe import BOOTSTRAP, fit_and_score, folds_for, probe
from pipelines.features.tasks import TASKS, builtin_task
from pipelines.inputs import add_run_options, apply_threads, check_outputs

KMER_MAX = 6


def model_features(
    model, seqs: list[np.ndarray], specs: list[tuple[str, str]], batch_size: int = 16,
    window: int = DEFAULT_WINDOW, stride: int = DEFAULT_STRIDE,
) -> dict[tuple[str, str], np.ndarray]:
    """(N, D) features per (level, pooling), all from one pass of the model over the sequences."""
    levels = sorted({lv for lv, _ in specs})
    out: dict[tuple[str, str], list[np.ndarray]] = {s: [] for s in specs}
    for a in analyze_many(model, seqs, hidden=levels, batch_size=batch_size, window=window, stride=stride):
        for spec in specs:
            out[spec].append(pool(a, *spec))
    return {s: np.stack(v) for s, v in out.items()}


def _best_kmer(
    x_train: list[np.ndarray], y_train: np.ndarray, seed: int, kmax: int = KMER_MAX
) -> tuple[int, dict[int, float]]:
    """k in 1..kmax with the best cross-validated accuracy of the probe on the training set."""
    scores = {}
    for k in range(1, kmax + 1):
        search = probe(seed, folds=folds_for(y_train))
        search.fit(kmer_frequencies(x_train, k), y_train)
        scores[k] = float(search.best_score_)
    return max(scores, key=lambda k: scores[k]), scores


def classify_job(
    out: str | Path,
    checkpoint: str | Path,
    task: str | None = None,
    labels: str | None = None,
    fasta: str | None = None,
    baseline_checkpoint: str | Path | None = None,
    level: str = DEFAULT_LEVEL,
    pooling: str = DEFAULT_POOLING,
    random_init: bool = True,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    batch_size: int = 16,
    kmer_max: int = KMER_MAX,
    bootstrap: int = BOOTSTRAP,
    overwrite: bool = False,
    log: TextIO | None = None,
) -> dict:
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise UsageError("--out must end in .json (the Markdown table goes beside it as .md)")
    md = out.with_suffix(".md")
    if (task is None) == (labels is None):
        raise UsageError("give exactly one of --task NAME or --labels FILE.tsv")
    if pooling not in POOLINGS:
        raise UsageError(f"--pooling must be one of {', '.join(POOLINGS)}")
    check_outputs([out, md], overwrite)
    meta = read_metadata(checkpoint)
    modality = checkpoint_modality(meta)
    model, meta = load_pretrained(checkpoint)
    if level not in hidden_levels(num_stages(model)):
        raise UsageError(f"--level {level!r} does not exist in this model")
    baseline = None
    if baseline_checkpoint is not None:
        baseline, bmeta = load_pretrained(baseline_checkpoint)
        if checkpoint_modality(bmeta) != modality:
            raise UsageError(f"{baseline_checkpoint}: the baseline checkpoint is not a {modality} model")
    if task is not None:
        if task not in TASKS:
            raise UsageError(f"unknown task {task!r}; built-in tasks: {', '.join(TASKS)}")
        data = builtin_task(task, n_train, n_test, seed)
    else:
        assert labels is not None
        data = read_labels(labels, fasta, meta)
    if data.modality != modality:
        raise UsageError(f"{checkpoint}: a {modality} checkpoint cannot run the {data.modality} "
                         f"task {data.name!r}")
    for y in (data.y_train, data.y_test):
        if y is not None and len(np.unique(y)) < 2:
            raise UsageError(f"{data.name}: needs at least two classes in each split, "
                             f"got {np.unique(y).tolist()}")
    if folds_for(data.y_train) < 2:
        raise UsageError(f"{data.name}: every class needs at least 2 training examples")

    def say(msg: str) -> None:
        if log is not None:
            log.write(msg + "\n")
            log.flush()

    say(f"classify {data.name}: {len(data.x_train)} train / {len(data.x_test)} test examples")
    all_x = data.x_train + list(data.x_test)
    n_tr = len(data.x_train)
    rows: list[dict] = []

    def add(name: str, x: np.ndarray, **extra) -> None:
        t = time.perf_counter()
        res = fit_and_score(x[:n_tr], data.y_train, x[n_tr:] if data.x_test else None,
                            data.y_test, seed, n_boot=bootstrap)
        rows.append({"features": name, "dims": int(x.shape[1]), **extra, **res,
                     "probe_seconds": round(time.perf_counter() - t, 2)})
        m = res["metrics"]
        say(f"  {name}: accuracy {m['accuracy']}, macro-F1 {m['macro_f1']}, AUROC {m['auroc']}")

    specs = [(level, pooling)]
    hier = num_stages(model) > 0
    if hier:
        specs += [("stage0", "chunks"), ("stage0", "grid")]
    step = meta.get("step")
    for tag, net in (("trained", model), ("random-init", _random_init(model, seed) if random_init else None)):
        if net is None:
            continue
        t = time.perf_counter()
        feats = model_features(net, all_x, specs, batch_size=batch_size)
        secs = time.perf_counter() - t
        say(f"  ({tag} model: {sum(len(x) for x in all_x):,} bytes in {secs:.0f} s)")
        who = f"H-Net {tag}" if hier else f"isotropic {tag}"
        add(f"{who} ({level}, {pooling})", feats[specs[0]], model=tag, step=step if tag == "trained" else 0)
        if hier:
            own = "learned chunks" if tag == "trained" else "its own (untrained) chunks"
            add(f"{who} (stage0, mean over {own})", feats[specs[1]], model=tag)
            add(f"{who} (stage0, mean over fixed-grid chunks)", feats[specs[2]], model=tag)
    if baseline is not None:
        # the isotropic model has no stages or chunks: its whole-network output, pooled alike
        bpool = pooling if pooling in ("mean", "max", "last") else "mean"
        feats = model_features(baseline, all_x, [("inner", bpool)], batch_size=batch_size)
        add(f"isotropic baseline (inner, {bpool})", next(iter(feats.values())), model="baseline",
            step=read_metadata(baseline_checkpoint).get("step"))
    if modality == "dna":
        add("GC content", gc_content(all_x))
        k, scores = _best_kmer(data.x_train, data.y_train, seed, kmer_max)
        add(f"k-mer frequencies (k={k}, best of 1..{kmer_max} by CV)", kmer_frequencies(all_x, k),
            kmer_cv=scores)
    else:
        add("log-mel statistics (40 bands, mean+std)", logmel_stats(all_x, data.sample_rate or 8000))

    report = {
        "task": data.name, "description": data.description, "modality": modality,
        "n_train": n_tr, "n_test": len(data.x_test), "classes": sorted(set(data.y_train.tolist())),
        "checkpoint": str(checkpoint), "checkpoint_step": step,
        "baseline_checkpoint": None if baseline_checkpoint is None else str(baseline_checkpoint),
        "seed": seed, "info": data.info,
        "rows": [{**r, "metrics": {k: v.as_dict() for k, v in r["metrics"].items()}} for r in rows],
    }
    atomic_write_text(out, json.dumps(report, indent=1) + "\n")
    atomic_write_text(md, markdown(report) + "\n")
    say(markdown(report))
    return report


def _random_init(model, seed: int):
    torch.manual_seed(seed)
    return build_model(model.config)


def markdown(report: dict) -> str:
    head = (f"**{report['task']}**: {report['description']} ({report['n_train']} train / {report['n_test']} "
            f"test; checkpoint step {report['checkpoint_step']})\n\n")
    lines = ["| features | dims | accuracy | macro-F1 | AUROC | C |", "|---|---|---|---|---|---|"]
    for r in report["rows"]:
        m = r["metrics"]
        cells = [f"{m[k]['value']:.3f} [{m[k]['ci95'][0]:.3f}, {m[k]['ci95'][1]:.3f}]"
                 for k in ("accuracy", "macro_f1", "auroc")]
        lines.append(f"| {r['features']} | {r['dims']} | {' | '.join(cells)} | {r['C']:g} |")
    return head + "\n".join(lines)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("classify", help="linear probe on embeddings vs baselines (JSON + Markdown)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint directory")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--task", help=f"built-in task: {', '.join(TASKS)}")
    src.add_argument("--labels", metavar="FILE.tsv", help="sequence<TAB>label[<TAB>train|test] per line")
    p.add_argument("--fasta", help="with --labels on DNA: the file the sequences/regions come from")
    p.add_argument("--baseline-checkpoint", help="isotropic baseline checkpoint, probed the same way")
    p.add_argument("--level", default=DEFAULT_LEVEL, help="hidden level (default inner)")
    p.add_argument("--pooling", default=DEFAULT_POOLING, choices=POOLINGS)
    p.add_argument("--no-random-init", action="store_true", help="skip the random-weights control")
    p.add_argument("--n-train", type=int, default=None, help="training windows per class (built-in tasks)")
    p.add_argument("--n-test", type=int, default=None, help="test windows per class (built-in tasks)")
    p.add_argument("--kmer-max", type=int, default=KMER_MAX, help="k-mer baseline: k in 1..K (default 6)")
    p.add_argument("--bootstrap", type=int, default=BOOTSTRAP, help="bootstrap resamples for the CIs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--out", required=True, help="results .json (a .md table is written beside it)")
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if not 1 <= args.kmer_max <= 8 or args.bootstrap < 10:
        raise UsageError("--kmer-max must be in 1..8 and --bootstrap >= 10")
    for name in ("n_train", "n_test"):
        if getattr(args, name) is not None and getattr(args, name) < 2:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 2")
    classify_job(args.out, args.checkpoint, task=args.task, labels=args.labels, fasta=args.fasta,
                 baseline_checkpoint=args.baseline_checkpoint, level=args.level, pooling=args.pooling,
                 random_init=not args.no_random_init, n_train=args.n_train, n_test=args.n_test,
                 seed=args.seed, batch_size=args.batch_size, kmer_max=args.kmer_max,
                 bootstrap=args.bootstrap, overwrite=args.overwrite,
                 log=None if args.quiet else sys.stderr)
    return 0
