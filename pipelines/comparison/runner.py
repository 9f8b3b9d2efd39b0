"""Train every arm x seed of a comparison with the ordinary pretraining loop, then report.

Each arm is `pipelines.training.loop.pretrain` into its own run directory ``OUT/runs/ARM-seedS/``
(`compare_dir`), driven through `TrainingHooks`: the progress lines watch every step, and a
caller's ``should_stop`` ends the arm with a checkpoint as a signal would. An arm that stops
before its budget (a signal, a hook) ends the comparison without a report (`CompareOutcome`);
running the same command again resumes it. Finished arms are skipped; an arm whose lock another
process holds is left to that process.
"""

from __future__ import annotations

import fcntl
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pipelines.comparison.compare_dir import (
    MARKER,
    RUNS,
    CompareManifest,
    arm_run,
    check_out,
    write_manifest,
)
from pipelines.comparison.recipe import Arm, CompareRecipe, load_recipe
from pipelines.comparison.report import write_report
from pipelines.comparison.results import ComparisonResults
from pipelines.errors import UsageError
from pipelines.runs.records import RunSummary, TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training.hooks import TrainingHooks
from pipelines.training.loop import pretrain
from pipelines.units import human_bytes


@dataclass
class CompareOutcome:
    """What `compare` did: the report's numbers, or which arm was stopped before it (no report then)."""

    results: ComparisonResults | None  # what results.json holds; None when an arm was stopped
    stopped_by: str | None = None  # what stopped that arm: a signal's name, or "hook"
    stopped_run: Path | None = None

    @property
    def stopped(self) -> bool:
        return self.results is None


def compare(
    config: str | Path | None,
    out: str | Path,
    *,
    data: str | list[str] | None = None,
    budget: int | None = None,
    seeds: list[int] | None = None,
    eval_data: dict[str, str | list[str]] | None = None,
    quick: bool = False,
    report_only: bool = False,
    verbose: bool = True,
    command: list[str] | None = None,
    hooks: TrainingHooks | None = None,
    only_arms: list[str] | None = None,
) -> CompareOutcome:
    """Train (or resume) every arm x seed into ``out/runs`` and write the report.

    only_arms: train just these arms (the report still covers every arm that has evaluations), so
    several processes can share one comparison; a run directory being trained by another process
    (its lock is held) is skipped, never trained twice at once.
    hooks: passed to every arm's training loop (after this module's own progress hook).
    """
    out = Path(out)
    if report_only:
        stored = check_out(out, None)
        if stored is None:
            raise UsageError(f"--report-only: {out} is not a compare directory (no {MARKER})")
        return CompareOutcome(write_report(out, stored, verbose=verbose))
    if config is None:
        raise UsageError("give --config RECIPE (or --report-only --out DIR)")
    recipe = load_recipe(config, quick=quick, budget=budget, seeds=seeds, data=data)
    recipe.eval_data.update(eval_data or {})
    names = [a.name for a in recipe.arms]
    unknown = [a for a in only_arms or [] if a not in names]
    if unknown:
        raise UsageError(f"--arms: unknown arm {unknown[0]!r} (arms: {', '.join(names)})")
    manifest = _record_command(out, recipe, command)
    runs = [(a, s) for s in recipe.seeds for a in recipe.arms if not only_arms or a.name in only_arms]
    prog = ArmProgress(recipe, len(runs), verbose)
    prog.say(
        f"{len(recipe.arms)} arms x {len(recipe.seeds)} seed(s), {human_bytes(recipe.budget)} each, "
        f"{len(recipe.eval_points())} evaluations per arm; arms: "
        + ", ".join(f"{a.name} ({a.layout})" for a in recipe.arms)
    )
    (out / RUNS).mkdir(exist_ok=True)
    for i, (arm, seed) in enumerate(runs, 1):
        run = arm_run(out, arm.name, seed)
        summary = run.summary()
        if summary is not None and summary.completed:
            prog.say(f"[{i}/{len(runs)}] {run.path.name}: finished earlier, skipped "
                     f"({summary.final_eval_bpb or 0:.4f} bits/byte)")
            continue
        with RunLock(run.path.with_name(f"{run.path.name}.lock")) as mine:
            if not mine:
                prog.say(f"[{i}/{len(runs)}] {run.path.name}: being trained by another process, skipped")
                continue
            res = train_arm(recipe, arm, seed, run, prog, i, hooks or TrainingHooks())
        if res is not None and not res.completed:  # its checkpoint is saved; the next command resumes it
            return CompareOutcome(None, res.stopped_by, run.path)
    return CompareOutcome(write_report(out, manifest, verbose=verbose))


def _record_command(out: Path, recipe: CompareRecipe, command: list[str] | None) -> CompareManifest:
    """Create or update compare.json (same training keys, checked; report-only keys may be new)."""
    manifest = check_out(out, recipe.to_json())
    if manifest is None:
        out.mkdir(parents=True, exist_ok=True)
        manifest = CompareManifest.new(recipe.to_json())
    manifest.recipe = recipe.to_json()
    manifest.commands = [*manifest.commands, " ".join(command or sys.argv)]
    write_manifest(out, manifest)
    return manifest


def train_arm(recipe: CompareRecipe, arm: Arm, seed: int, run: RunDir, prog: ArmProgress, index: int,
              hooks: TrainingHooks) -> RunSummary | None:
    """Resume or start one arm's ordinary pretraining run; None if another process finished it."""
    done = run.summary()
    if done is not None and done.completed:  # finished by another process meanwhile
        return None
    ckpt = run.latest_checkpoint() if run.path.is_dir() else None
    if run.path.exists() and ckpt is None:
        shutil.rmtree(run.path)  # a start that never reached a checkpoint: nothing to keep
    prog.begin(index, run.path.name, run.trainer_state(ckpt).train_bytes if ckpt is not None else 0)

    def on_step(rec: TrainRecord) -> None:
        prog.step(rec)
        if hooks.on_step is not None:
            hooks.on_step(rec)

    res = pretrain(recipe.pretrain_config(arm, seed), None, run, resume=ckpt is not None, verbose=False,
                   hooks=TrainingHooks(on_step=on_step, should_stop=hooks.should_stop))
    if res.completed:
        prog.end(res)
    return res


class RunLock:
    """An exclusive, non-blocking flock on ``path`` for the duration of one arm (released on exit,
    also when the process dies); ``__enter__`` says whether this process holds it."""

    def __init__(self, path: Path):
        self.path = path
        self.fh: TextIO | None = None

    def __enter__(self) -> bool:
        self.fh = open(self.path, "a")  # held for the arm's lifetime
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


class ArmProgress:
    """One line per arm start/end and, every ``every_s`` seconds, the step, rate and the ETAs."""

    def __init__(self, recipe: CompareRecipe, total_runs: int, verbose: bool, every_s: float = 20.0):
        self.recipe, self.total, self.verbose, self.every = recipe, total_runs, verbose, every_s
        self.done_bytes, self.done_seconds = 0, 0.0
        self.index, self.name = 0, ""
        self.t_arm = self.t_last = time.perf_counter()
        self.start_bytes = 0

    def say(self, text: str) -> None:
        if self.verbose:
            print(f"compare: {text}", file=sys.stderr, flush=True)

    def begin(self, index: int, name: str, start_bytes: int) -> None:
        self.index, self.name, self.start_bytes = index, name, start_bytes
        self.t_arm = self.t_last = time.perf_counter()
        where = f"resuming at {human_bytes(start_bytes)}" if start_bytes else "start"
        self.say(f"[{index}/{self.total}] {name}: {where} of {human_bytes(self.recipe.budget)}")

    def step(self, rec: TrainRecord) -> None:
        now = time.perf_counter()
        if now - self.t_last < self.every:
            return
        self.t_last = now
        seen, budget = rec.train_bytes, self.recipe.budget
        rate = (seen - self.start_bytes) / max(now - self.t_arm, 1e-9)
        left_arm = (budget - seen) / max(rate, 1e-9)
        mean = (self.done_bytes + seen - self.start_bytes) / max(self.done_seconds + now - self.t_arm, 1e-9)
        left_all = left_arm + (self.total - self.index) * budget / max(mean, 1e-9)
        self.say(
            f"[{self.index}/{self.total}] {self.name}: {human_bytes(seen)}/{human_bytes(budget)} "
            f"({100 * seen / budget:.0f}%) | {human_bytes(rate)}/s | train bpb {rec.bpb or 0:.3f} | "
            f"arm ETA {_duration(left_arm)} | all ETA {_duration(left_all)}"
        )

    def end(self, summary: RunSummary) -> None:
        elapsed = time.perf_counter() - self.t_arm
        self.done_bytes += summary.train_bytes - self.start_bytes
        self.done_seconds += elapsed
        bpb = f"{summary.final_eval_bpb:.4f}" if summary.final_eval_bpb is not None else "-"
        self.say(
            f"[{self.index}/{self.total}] {self.name}: done in {_duration(elapsed)}, held-out {bpb} bits/byte"
        )


def _duration(s: float) -> str:
    s = max(0, int(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
