"""`hnet-bio compare`: does an H-Net learn more per byte than flat byte models, and by how much?

Every arm of a compare recipe (`pipelines.comparison.recipe`) is trained by the ordinary
pretraining loop (`pipelines.pretrain.pretrain`) into its own run directory
``OUT/runs/ARM-seedS/``, on the same training windows in the same order (same seed) and evaluated
on the same held-out windows at log-spaced training-byte counts (``train.eval_at_bytes``). The
report (`pipelines.comparison.report`) reads only those run directories, so running the same
command again resumes unfinished arms and skips finished ones, and ``--report-only`` rebuilds the
report from whatever points exist, finished or not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from hnet_bio.atomic import atomic_write_json
from pipelines.comparison.recipe import CompareRecipe, load_recipe
from pipelines.errors import UsageError
from pipelines.units import human_bytes

MARKER = "compare.json"  # what makes a directory a compare directory
RUNS = "runs"


def run_name(arm: str, seed: int) -> str:
    return f"{arm}-seed{seed}"


def _check_out(out: Path, recipe: CompareRecipe | None) -> dict[str, Any] | None:
    """The stored compare.json of ``out`` (None for a new/empty directory); refuse anything else."""
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
        stored = json.loads(marker.read_text())
    except json.JSONDecodeError:
        raise UsageError(f"{marker}: not valid JSON; choose a new --out") from None
    if recipe is not None:
        new, old = _comparable(recipe.to_json()), _comparable(stored.get("recipe", {}))
        if new != old:
            changed = sorted(k for k in set(new) | set(old) if new.get(k) != old.get(k))
            raise UsageError(
                f"--out {out} holds a comparison with another recipe (differs in: "
                f"{', '.join(changed)}); choose a new --out or rerun with the same options"
            )
    return stored


TRAINING_KEYS = ("arms", "data", "train", "budget", "eval_points", "step_bytes")  # seeds: one run dir each


def _comparable(r: dict[str, Any]) -> dict[str, Any]:
    """What the run directories depend on; the rest (anchors, extra eval sets, references) may
    change between runs of one comparison and only changes the report."""
    return {k: r.get(k) for k in TRAINING_KEYS}


class _Progress:
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

    def step(self, step: int, rec: dict[str, Any]) -> None:
        now = time.perf_counter()
        if now - self.t_last < self.every:
            return
        self.t_last = now
        seen = int(rec.get("train_bytes", 0))
        rate = (seen - self.start_bytes) / max(now - self.t_arm, 1e-9)
        left_arm = (self.recipe.budget - seen) / max(rate, 1e-9)
        mean = (self.done_bytes + seen - self.start_bytes) / max(self.done_seconds + now - self.t_arm, 1e-9)
        left_all = left_arm + (self.total - self.index) * self.recipe.budget / max(mean, 1e-9)
        self.say(
            f"[{self.index}/{self.total}] {self.name}: {human_bytes(seen)}/{human_bytes(self.recipe.budget)} "
            f"({100 * seen / self.recipe.budget:.0f}%) | {human_bytes(rate)}/s | "
            f"train bpb {rec.get('bpb', 0):.3f} | "
            f"arm ETA {_duration(left_arm)} | all ETA {_duration(left_all)}"
        )

    def end(self, summary: Any) -> None:
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
    on_step: Any = None,
    only_arms: list[str] | None = None,
) -> dict[str, Any]:
    """Train (or resume) every arm x seed into ``out/runs`` and write the report; returns results.json.

    only_arms: train just these arms (the report still covers every arm that has evaluations), so
    several processes can share one comparison; a run directory being trained by another process
    (its lock is held) is skipped, never trained twice at once.
    """
    from pipelines.comparison.report import write_report

    out = Path(out)
    if report_only:
        stored = _check_out(out, None)
        if stored is None:
            raise UsageError(f"--report-only: {out} is not a compare directory (no {MARKER})")
        return write_report(out, stored, verbose=verbose)
    if config is None:
        raise UsageError("give --config RECIPE (or --report-only --out DIR)")
    recipe = load_recipe(config, quick=quick, budget=budget, seeds=seeds, data=data)
    for name, spec in (eval_data or {}).items():
        recipe.eval_data[name] = spec
    names = [a.name for a in recipe.arms]
    unknown = [a for a in only_arms or [] if a not in names]
    if unknown:
        raise UsageError(f"--arms: unknown arm {unknown[0]!r} (arms: {', '.join(names)})")
    stored = _check_out(out, recipe)
    runs = [(a, s) for s in recipe.seeds for a in recipe.arms if not only_arms or a.name in only_arms]
    prog = _Progress(recipe, len(runs), verbose)
    if stored is None:
        out.mkdir(parents=True, exist_ok=True)
        stored = {
            "recipe": recipe.to_json(),
            "commands": [],
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    stored["recipe"] = recipe.to_json()  # same training keys (checked); report-only keys may be new
    stored["commands"] = [*stored.get("commands", []), " ".join(command or sys.argv)]
    atomic_write_json(out / MARKER, stored)
    prog.say(
        f"{len(recipe.arms)} arms x {len(recipe.seeds)} seed(s), {human_bytes(recipe.budget)} each, "
        f"{len(recipe.eval_points())} evaluations per arm; arms: "
        + ", ".join(f"{a.name} ({a.model['arch_layout']})" for a in recipe.arms)
    )
    (out / RUNS).mkdir(exist_ok=True)
    for i, (arm, seed) in enumerate(runs, 1):
        run = out / RUNS / run_name(arm.name, seed)
        summary = _read_summary(run)
        if summary.get("completed"):
            prog.say(
                f"[{i}/{len(runs)}] {run.name}: finished earlier, skipped "
                f"({summary.get('final_eval_bpb') or 0:.4f} bits/byte)"
            )
            continue
        with _RunLock(out / RUNS / f"{run.name}.lock") as mine:
            if not mine:
                prog.say(f"[{i}/{len(runs)}] {run.name}: being trained by another process, skipped")
                continue
            _train_arm(recipe, arm, seed, run, prog, i, on_step)
    return write_report(out, stored, verbose=verbose)


class _RunLock:
    """An exclusive, non-blocking flock on ``path`` for the duration of one arm (released on exit,
    also when the process dies); ``__enter__`` says whether this process holds it."""

    def __init__(self, path: Path):
        self.path = path
        self.fh: Any = None

    def __enter__(self) -> bool:
        import fcntl

        self.fh = open(self.path, "a")  # held for the arm's lifetime
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def _train_arm(
    recipe: CompareRecipe, arm: Any, seed: int, run: Path, prog: _Progress, i: int, on_step: Any
) -> None:
    """Resume or start one arm's ordinary pretraining run; stop the comparison if it was stopped."""
    from pipelines.pretrain import pretrain
    from pipelines.runs import run_dir as rd

    if _read_summary(run).get("completed"):  # finished by another process meanwhile
        return
    ckpt = rd.latest_checkpoint(run) if run.is_dir() else None
    if run.exists() and ckpt is None:
        shutil.rmtree(run)  # a start that never reached a checkpoint: nothing to keep
    start = 0
    if ckpt is not None:
        start = (
            int(json.loads((ckpt / "trainer_state.json").read_text()).get("train_bytes", 0))
            if (ckpt / "trainer_state.json").is_file()
            else 0
        )
    prog.begin(i, run.name, start)

    def step_cb(step: int, rec: dict[str, Any]) -> None:
        prog.step(step, rec)
        if on_step is not None:
            on_step(step, rec)

    res = pretrain(
        recipe.pretrain_config(arm, seed),
        None,
        run,
        resume=ckpt is not None,
        verbose=False,
        on_step=step_cb,
    )
    if not res.completed:
        raise KeyboardInterrupt  # stopped by a signal; its checkpoint is saved
    prog.end(res)


def _read_summary(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


# --------------------------------------------------------------------------- CLI


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compare",
        help="data efficiency of H-Nets against isotropic byte models, as a report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="hnet-bio compare --config RECIPE --out REPORT_DIR [--data CORPUS_OR_FILES] [--budget BYTES] "
        "[--seeds 0,1,2] [--eval-data NAME=FILES ...] [--quick] [--arms A,B]\n"
        "       hnet-bio compare --report-only --out REPORT_DIR",
    )
    p.add_argument("--config", help="compare recipe (configs/compare-dna.yaml, configs/compare-audio.yaml)")
    p.add_argument(
        "--out", required=True, metavar="REPORT_DIR", help="report directory (new, or one to resume)"
    )
    p.add_argument(
        "--data", nargs="+", metavar="CORPUS_OR_FILES", help="train on this instead of data.corpus"
    )
    p.add_argument("--budget", metavar="BYTES", help="training bytes per arm (e.g. 1e6)")
    p.add_argument("--seeds", metavar="S,S,...", help="seeds, comma-separated (default: the recipe's)")
    p.add_argument(
        "--eval-data",
        action="append",
        default=[],
        metavar="NAME=FILES",
        help="extra held-out set reported separately (corpus name or comma-separated files)",
    )
    p.add_argument("--quick", action="store_true", help="the recipe's quick section: tiny arms, minutes")
    p.add_argument("--arms", metavar="A,B", help="train only these arms (run several processes in parallel)")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from OUT/runs only")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_run)


def _parse_budget(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--budget must be a number of bytes, got {text!r}") from None
    if not value.is_integer() or value < 1:
        raise UsageError(f"--budget must be a positive whole number of bytes, got {text!r}")
    return int(value)


def _parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UsageError(f"--seeds must be non-negative integers, got {text!r}")
    return seeds


def _parse_eval_data(items: list[str]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for item in items:
        name, eq, spec = item.partition("=")
        if not eq or not name or not spec:
            raise UsageError(f"--eval-data expects NAME=CORPUS_OR_FILES, got {item!r}")
        files = [s for s in spec.split(",") if s]
        out[name] = files[0] if len(files) == 1 else files
    return out


def _run(args: argparse.Namespace) -> int:
    data = None
    if args.data:
        data = args.data[0] if len(args.data) == 1 else list(args.data)
    compare(
        args.config,
        args.out,
        data=data,
        budget=_parse_budget(args.budget),
        seeds=_parse_seeds(args.seeds),
        eval_data=_parse_eval_data(args.eval_data),
        quick=args.quick,
        report_only=args.report_only,
        verbose=not args.quiet,
        command=["hnet-bio", *sys.argv[1:]],
        only_arms=[a for a in args.arms.split(",") if a] if args.arms else None,
    )
    return 0
