"""What ``hnet-bio classify`` does: the same linear probe (`probe`) on a checkpoint's embeddings
and on the features a user would try first, on one task, reported as JSON and Markdown.

Rows, in order: the checkpoint's embeddings (level, pooling); for an H-Net, stage-0 states
averaged over its learned chunks and over a fixed grid with as many chunks; the same rows for the
architecture with random weights (the control for what the probe gets from the architecture
alone); the isotropic baseline checkpoint, pooled alike; then GC content and k-mer frequencies
(DNA) or log-mel statistics (audio).

Paired gaps follow, each on the same examples: every trained row minus its random-weights row,
learned chunks minus the fixed grid (do the learned cut points matter?), and the checkpoint's
embeddings minus the isotropic baseline's and minus the last simple baseline (k-mer frequencies,
or log-mel statistics for audio), the one a user would try first.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from hnet_bio.atomic import atomic_write_text
from hnet_bio.checkpoint import load_pretrained
from hnet_bio.lm import HNetLM, IsotropicLM, build_model
from hnet_bio.metadata import CheckpointMetadata
from pipelines.analysis.progress import ProgressBar, maybe_bar
from pipelines.analysis.result import hidden_levels
from pipelines.analysis.run import analyze_many, num_stages
from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW
from pipelines.errors import UsageError
from pipelines.features.baselines import gc_content, kmer_frequencies, logmel_stats
from pipelines.features.embedding import DEFAULT_LEVEL, DEFAULT_POOLING, POOLINGS, pool
from pipelines.features.labels import read_labels
from pipelines.features.probe import BOOTSTRAP, fit_and_score, folds_for, paired_gap, probe
from pipelines.features.probe_report import ClassifyReport, ProbeGap, ProbeRow, markdown
from pipelines.features.tasks import TASKS, Task, builtin_task
from pipelines.inputs import check_outputs, resolve_device
from pipelines.runs.resolve import resolve_checkpoint

KMER_MAX = 6
Model = HNetLM | IsotropicLM
Say = Callable[[str], None]


def model_features(
    model: Model, seqs: list[np.ndarray], specs: list[tuple[str, str]], batch_size: int | None = None,
    window: int = DEFAULT_WINDOW, stride: int = DEFAULT_STRIDE, progress: ProgressBar | None = None,
) -> dict[tuple[str, str], np.ndarray]:
    """(N, D) features per (level, pooling), all from one pass of the model over the sequences."""
    levels = sorted({lv for lv, _ in specs})
    out: dict[tuple[str, str], list[np.ndarray]] = {s: [] for s in specs}
    for a in analyze_many(model, seqs, hidden=levels, batch_size=batch_size, window=window, stride=stride,
                          progress=progress):
        for spec in specs:
            out[spec].append(pool(a, *spec))
    if progress is not None:
        progress.close()
    return {s: np.stack(v) for s, v in out.items()}


def classify(
    out: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    task: str | None = None,
    labels: str | None = None,
    fasta: str | Sequence[str] | None = None,
    baseline_checkpoint: str | os.PathLike[str] | None = None,
    level: str = DEFAULT_LEVEL,
    pooling: str = DEFAULT_POOLING,
    random_init: bool = True,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    kmer_max: int = KMER_MAX,
    bootstrap: int = BOOTSTRAP,
    overwrite: bool = False,
    log: TextIO | None = None,
    device: str | torch.device | None = "cpu",
) -> ClassifyReport:
    """Probe `checkpoint` (and `baseline_checkpoint`; any form `pipelines.runs.resolve` takes) on a
    built-in task or a labels file; write OUT.json and OUT.md."""
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise UsageError("--out must end in .json (the Markdown table goes beside it as .md)")
    md = out.with_suffix(".md")
    if (task is None) == (labels is None):
        raise UsageError("give exactly one of --task NAME or --labels FILE.tsv")
    if pooling not in POOLINGS:
        raise UsageError(f"--pooling must be one of {', '.join(POOLINGS)}")
    check_outputs([out, md], overwrite)
    dev = resolve_device(device)
    model, meta = _load(checkpoint, dev)
    if level not in hidden_levels(num_stages(model)):
        raise UsageError(f"--level {level!r} does not exist in this model")
    baseline = (None if baseline_checkpoint is None
                else _load_baseline(baseline_checkpoint, meta.modality, dev))
    data = _task_data(task, labels, fasta, meta, n_train, n_test, seed)
    _check_task(data, checkpoint, meta.modality)
    say = _logger(log)
    say(f"classify {data.name}: {len(data.x_train)} train / {len(data.x_test)} test examples")
    rows = _Rows(data, seed, bootstrap, say)
    all_x = data.x_train + list(data.x_test)
    nets = _network_rows(rows, model, meta.step, level, pooling, random_init, seed, batch_size, all_x, log)
    trained = nets["trained"]
    pairs = list(zip(trained, nets.get("random-init", []), strict=False))  # each row and its control
    if num_stages(model) > 0:  # learned chunks against the fixed grid
        pairs.append((trained[1], trained[2]))
    if baseline is not None:
        # the isotropic model has no stages or chunks: its whole-network output, pooled alike
        bpool = pooling if pooling in ("mean", "max", "last") else "mean"
        feats = model_features(baseline[0], all_x, [("inner", bpool)], batch_size=batch_size,
                               progress=maybe_bar("classify: isotropic baseline", log))
        iso = rows.add(f"isotropic baseline (inner, {bpool})", next(iter(feats.values())), model="baseline",
                       step=baseline[1].step, shows_step=True)
        pairs.append((trained[0], iso))
    _naive_rows(rows, data, meta.modality, all_x, seed, kmer_max)
    pairs.append((trained[0], rows.rows[-1]))  # against k-mers (DNA) or log-mel statistics (audio)
    gaps = [ProbeGap(a.features, b.features,
                     paired_gap(a.score.predictions, b.score.predictions, seed, bootstrap)) for a, b in pairs]
    report = ClassifyReport(
        task=data.name, description=data.description, modality=meta.modality,
        n_train=len(data.x_train), n_test=len(data.x_test), classes=sorted(set(data.y_train.tolist())),
        checkpoint=str(checkpoint), checkpoint_step=meta.step,
        baseline_checkpoint=None if baseline_checkpoint is None else str(baseline_checkpoint),
        seed=seed, info=data.info, rows=rows.rows, gaps=gaps)
    atomic_write_text(out, json.dumps(report.to_json(), indent=1) + "\n")
    atomic_write_text(md, markdown(report) + "\n")
    say(markdown(report))
    return report


def _load(checkpoint: str | os.PathLike[str], device: torch.device) -> tuple[Model, CheckpointMetadata]:
    model, meta = load_pretrained(resolve_checkpoint(checkpoint).path, map_location=device)
    assert isinstance(model, (HNetLM, IsotropicLM))
    return model, meta


def _load_baseline(checkpoint: str | os.PathLike[str], modality: str,
                   device: torch.device) -> tuple[Model, CheckpointMetadata]:
    model, meta = _load(checkpoint, device)
    if meta.modality != modality:
        raise UsageError(f"{checkpoint}: the baseline checkpoint is not a {modality} model")
    return model, meta


def _task_data(task: str | None, labels: str | None, fasta: str | Sequence[str] | None,
               meta: CheckpointMetadata, n_train: int | None, n_test: int | None, seed: int) -> Task:
    """The built-in task's examples, or the labels file's (in the checkpoint's byte convention)."""
    if task is not None:
        if task not in TASKS:
            raise UsageError(f"unknown task {task!r}; built-in tasks: {', '.join(TASKS)}")
        return builtin_task(task, n_train, n_test, seed)
    assert labels is not None
    return read_labels(labels, fasta, meta)


def _check_task(data: Task, checkpoint: str | os.PathLike[str], modality: str) -> None:
    """The task fits the checkpoint and a probe can be fitted: two classes everywhere, 2+ examples each."""
    if data.modality != modality:
        article = "an" if modality == "audio" else "a"
        raise UsageError(f"{checkpoint}: {article} {modality} checkpoint cannot run the {data.modality} "
                         f"task {data.name!r}")
    for y in (data.y_train, data.y_test):
        if y is not None and len(np.unique(y)) < 2:
            raise UsageError(f"{data.name}: needs at least two classes in each split, "
                             f"got {np.unique(y).tolist()}")
    if folds_for(data.y_train) < 2:
        raise UsageError(f"{data.name}: every class needs at least 2 training examples")


def _logger(log: TextIO | None) -> Say:
    def say(msg: str) -> None:
        if log is not None:
            log.write(msg + "\n")
            log.flush()

    return say


@dataclass
class _Rows:
    """Fits the probe on one feature set at a time and keeps the rows; features are (N, D) with the
    training examples first, then the test examples."""

    data: Task
    seed: int
    bootstrap: int
    say: Say
    rows: list[ProbeRow] = field(default_factory=list)

    def add(self, name: str, x: np.ndarray, model: str | None = None, step: int | None = None,
            shows_step: bool = False, kmer_cv: dict[int, float] | None = None) -> ProbeRow:
        n_tr = len(self.data.x_train)
        t = time.perf_counter()
        score = fit_and_score(x[:n_tr], self.data.y_train, x[n_tr:] if self.data.x_test else None,
                              self.data.y_test, self.seed, n_boot=self.bootstrap)
        self.rows.append(ProbeRow(name, int(x.shape[1]), score, round(time.perf_counter() - t, 2),
                                  model=model, step=step, shows_step=shows_step, kmer_cv=kmer_cv))
        m = score.metrics
        self.say(f"  {name}: accuracy {m.accuracy}, macro-F1 {m.macro_f1}, AUROC {m.auroc}")
        return self.rows[-1]


def _network_rows(rows: _Rows, model: Model, step: int | None, level: str, pooling: str, random_init: bool,
                  seed: int, batch_size: int | None, all_x: list[np.ndarray],
                  log: TextIO | None = None) -> dict[str, list[ProbeRow]]:
    """The trained model's rows, then the random-weights control's (H-Nets also by chunk pooling),
    by tag ("trained", "random-init"), each in the order (level, pooling)[, learned chunks, grid]."""
    specs = [(level, pooling)]
    hier = num_stages(model) > 0
    if hier:
        specs += [("stage0", "chunks"), ("stage0", "grid")]
    added: dict[str, list[ProbeRow]] = {}
    for tag, net in (("trained", model), ("random-init", _random_init(model, seed) if random_init else None)):
        if net is None:
            continue
        t = time.perf_counter()
        feats = model_features(net, all_x, specs, batch_size=batch_size,
                               progress=maybe_bar(f"classify: {tag} model", log))
        secs = time.perf_counter() - t
        rows.say(f"  ({tag} model: {sum(len(x) for x in all_x):,} bytes in {secs:.0f} s)")
        who = f"H-Net {tag}" if hier else f"isotropic {tag}"
        mine = added[tag] = [rows.add(f"{who} ({level}, {pooling})", feats[specs[0]], model=tag,
                                      step=step if tag == "trained" else 0, shows_step=True)]
        if hier:
            own = "learned chunks" if tag == "trained" else "its own (untrained) chunks"
            mine.append(rows.add(f"{who} (stage0, mean over {own})", feats[specs[1]], model=tag))
            mine.append(rows.add(f"{who} (stage0, mean over fixed-grid chunks)", feats[specs[2]], model=tag))
    return added


def _naive_rows(rows: _Rows, data: Task, modality: str, all_x: list[np.ndarray], seed: int,
                kmer_max: int) -> None:
    """What a user would try first: GC content and k-mers (DNA), log-mel statistics (audio)."""
    if modality == "dna":
        rows.add("GC content", gc_content(all_x))
        k, scores = _best_kmer(data.x_train, data.y_train, seed, kmer_max)
        rows.add(f"k-mer frequencies (k={k}, best of 1..{kmer_max} by CV)", kmer_frequencies(all_x, k),
                 kmer_cv=scores)
    else:
        assert data.sample_rate is not None  # every audio task records the rate of its bytes
        rows.add("log-mel statistics (40 bands, mean+std)", logmel_stats(all_x, data.sample_rate))


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


def _random_init(model: Model, seed: int) -> Model:
    """The same architecture with random weights (seeded, built on the CPU so they do not depend on
    the device), on the trained model's device."""
    torch.manual_seed(seed)
    return build_model(model.config).to(next(model.parameters()).device)
