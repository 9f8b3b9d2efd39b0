"""`hnet-bio pretrain`: next-byte pretraining of HNetLM or IsotropicLM on DNA or audio bytes.

One plain loop, readable top to bottom: windows -> forward -> loss -> backward -> clip -> AdamW
step with a warmup-stable-decay learning rate (times each stage's multiplier). The same function
runs as one process or under ``torchrun`` with DistributedDataParallel; rank 0 alone writes.

Exact resume rests on three facts: the batch of step ``s`` is a pure function of ``(seed, s)``
(window index arithmetic below), the schedule is a pure function of ``s``, and a checkpoint holds
everything else that changes (weights, AdamW moments, RNG states, counters) bit for bit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from hnet_bio.atomic import atomic_write_json
from hnet_bio.compilation import compile_byte_level, uncompile
from pipelines.errors import UsageError
from pipelines.output_paths import check_free_space, check_output_dir, reporting_write_errors
from pipelines.runs import run_dir as rd
from pipelines.training.distributed import DistEnv, any_rank, barrier, init_distributed, shutdown
from pipelines.training.evaluation import evaluate_bpb
from pipelines.training.metrics import (
    MetricsLogger,
    Progress,
    plot_run,
    read_metrics,
    throughput,
    training_flops_per_byte,
    truncate_metrics,
)
from pipelines.training.preemption import ignore_interrupts, stop_on_signals
from pipelines.training.resume import check_same_run, plan_schedule
from pipelines.training.schedule import WSDSchedule
from pipelines.training.train_config import (
    PretrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    valid_override_keys,
)
from pipelines.training.train_step import WindowBatches, train_step
from pipelines.training.training_state import TrainingDiverged, TrainState, build_metadata, restore
from pipelines.units import human_bytes

CONFIG_FILE = "pretrain_config.json"


@dataclass
class RunSummary:
    """What a finished (or stopped) run produced and where it is."""

    run_dir: Path
    steps: int
    max_steps: int
    train_bytes: int
    final_loss: float | None
    final_eval_bpb: float | None
    best_eval_bpb: float | None
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    metrics_path: Path
    plot_path: Path | None
    elapsed_s: float
    bytes_per_s: float
    stopped_by: str | None = None  # the signal that stopped the run early ("SIGINT", "SIGTERM", ...)

    @property
    def completed(self) -> bool:
        return self.steps >= self.max_steps

    def to_json(self) -> dict[str, Any]:
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}
        return {**d, "completed": self.completed}


def pretrain(cfg: PretrainConfig | None, data: str | Path | list[str | Path] | None, out_dir: str | Path,
             resume: bool = False, stop_after: int | None = None, verbose: bool = True,
             on_step: Callable[[int, dict[str, Any]], None] | None = None) -> RunSummary:
    """Train ``cfg``'s model on ``data`` (corpus name or files; None: ``cfg.data.corpus``) into ``out_dir``.

    resume: continue from the newest checkpoint in ``out_dir`` (``cfg`` None: the saved recipe).
    stop_after: stop after this many total steps with a checkpoint, as if preempted.
    on_step: called on every rank after each optimizer step (tests use it to interrupt a run).
    """
    out = Path(out_dir)
    cfg = _prepare_run_dir(cfg, out, resume, data)
    env = init_distributed(cfg.train.device)
    determinism = (torch.are_deterministic_algorithms_enabled(),
                   torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        if cfg.train.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        return _train(cfg, out, env, resume, stop_after, verbose and env.is_main, on_step)
    finally:
        torch.use_deterministic_algorithms(determinism[0], warn_only=determinism[1])
        shutdown(env)


def _prepare_run_dir(cfg: PretrainConfig | None, out: Path, resume: bool,
                     data: str | Path | list[str | Path] | None) -> PretrainConfig:
    """Validate before anything is written: a fresh run needs an empty directory."""
    saved = out / CONFIG_FILE
    if resume:
        if out.exists() and not out.is_dir():
            raise UsageError(f"cannot resume {out}: it is a file, not a run directory")
        if cfg is None:
            if not saved.is_file():
                raise UsageError(f"cannot resume {out}: no {CONFIG_FILE} there")
            cfg = from_dict(json.loads(saved.read_text()))
        rd.check_layout(out)
        check_output_dir(out, "--resume")
    else:
        check_output_dir(out)  # a regular file, an unwritable place: said before any work
        if out.exists() and any(out.iterdir()):
            raise UsageError(f"run directory {out} is not empty; use --resume {out} to continue it, "
                             "or choose another --out")
    if cfg is None:
        raise UsageError("no config given")
    if data is not None:
        spec = [os.fspath(d) for d in data] if isinstance(data, (list, tuple)) else os.fspath(data)
        cfg = apply_overrides(cfg, {"data.corpus": spec})
    return cfg


def _train(cfg: PretrainConfig, out: Path, env: DistEnv, resume: bool, stop_after: int | None,
           verbose: bool, on_step: Callable[[int, dict[str, Any]], None] | None) -> RunSummary:
    from hnet_bio import build_model
    from hnet_bio.config import HNetConfig
    from hnet_bio.optim import param_groups
    from pipelines.training.training_data import open_training_data

    t = cfg.train
    data = open_training_data(cfg)  # sizes checked here, before anything is trained or written
    train_corpus, train_set, eval_set = data.train_corpus, data.train_set, data.eval_set
    torch.manual_seed(t.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    rd.seed_rng(t.seed)  # Python's and NumPy's too: every RNG state in a checkpoint is the run's own
    model = build_model(HNetConfig.from_dict(cfg.model_config_dict())).to(env.device)

    step_bytes = t.batch_size * t.seq_len * t.grad_accum * env.world_size  # predicted bytes per step
    max_steps = math.ceil(t.byte_budget / step_bytes) if t.byte_budget else t.max_steps
    groups = param_groups(model, weight_decay=t.weight_decay)
    opt = torch.optim.AdamW(groups, lr=t.lr, betas=t.betas, eps=t.eps)
    meta = build_metadata(train_corpus, cfg)

    if env.is_main:  # weights (4 B/param) + AdamW moments (8 B/param): one checkpoint must fit
        check_free_space(out, 12 * model.num_parameters(), "a checkpoint", "--resume" if resume else "--out")
    state = TrainState(world_size=env.world_size, step_bytes=step_bytes, schedule_steps=max_steps)
    metrics_path = out / "metrics.jsonl"
    ckpt = rd.latest_checkpoint(out) if resume else None
    schedule_note = None
    if ckpt is not None:  # refuse a different run before anything is loaded or written
        check_same_run(out, ckpt, cfg, meta)
        schedule_steps, schedule_note = plan_schedule(out, rd.load_trainer_state(ckpt), max_steps, t)
        state = restore(ckpt, model, opt, env, step_bytes, schedule_steps)
    elif resume and env.is_main:
        print(f"pretrain: warning: no checkpoint in {out}; starting it again from step 0", file=sys.stderr)
    if schedule_note and env.is_main:  # not progress: said even with --quiet
        print(f"pretrain: {schedule_note}", file=sys.stderr)
    sched = WSDSchedule.from_fractions(state.schedule_steps, t.warmup_fraction, t.decay_fraction,
                                       t.min_lr_ratio, t.decay_shape, t.warmup_steps)
    if env.is_main:
        with reporting_write_errors("run directory", out):
            out.mkdir(parents=True, exist_ok=True)
            rd.remove_stale_temporaries(out)
            atomic_write_json(out / CONFIG_FILE, cfg.to_dict())
            if ckpt is not None:
                truncate_metrics(metrics_path, state.step)
                rd.finish_interrupted(out, t.keep_last, state.best_step)  # a kill between save and rotate
            else:
                metrics_path.unlink(missing_ok=True)
    barrier(env)

    net: torch.nn.Module = model
    ddp: torch.nn.parallel.DistributedDataParallel | None = None
    if env.distributed:
        net = ddp = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[env.device.index] if env.device.type == "cuda" else None)
    if t.compile:
        compile_byte_level(model)  # byte-level layers only: inner lengths are data-dependent
    logger = MetricsLogger(metrics_path if env.is_main else None)
    flops_per_byte = training_flops_per_byte(model, t.seq_len)
    say = Progress(max_steps, state.step, verbose)
    if verbose:
        say.message(f"pretrain: {type(model).__name__} {model.num_parameters() / 1e6:.2f}M params | "
                    f"{train_corpus.modality} corpus {human_bytes(train_corpus.total_bytes)} | "
                    f"{max_steps} steps x {human_bytes(step_bytes)} | {env.world_size} process(es) on "
                    f"{env.device} | {'resuming at step ' + str(state.step) if ckpt else 'fresh start'}")
        for note in data.notes:
            say.message(note)

    def evaluate_and_save(step: int, periodic_save: bool) -> None:
        """Eval (all ranks), then checkpoint on rank 0 if periodic or a new best."""
        ev = evaluate_bpb(model, eval_set, env, t.eval_batch_size or t.batch_size, t.precision)
        is_best = state.best_eval_bpb is None or ev["eval_bpb"] < state.best_eval_bpb
        if is_best:
            state.best_eval_bpb, state.best_step = ev["eval_bpb"], step
        state.last_eval_bpb = ev["eval_bpb"]
        logger.log({"kind": "eval", "step": step, "train_bytes": state.train_bytes, **ev, "best": is_best})
        say.message(f"eval @ step {step} ({human_bytes(state.train_bytes)} seen): "
                    f"{ev['eval_bpb']:.4f} bits/byte{' (best)' if is_best else ''}")
        if step > 0 and (periodic_save or is_best):
            save(step, is_best)
        elif env.is_main:
            with reporting_write_errors("loss plot", out / "loss.png"):
                plot_run(metrics_path, out / "loss.png", _title(model, cfg))

    def save(step: int, is_best: bool = False) -> None:
        """Rank 0 writes; every rank waits, so no rank runs ahead of a checkpoint being written."""
        if env.is_main:
            newest = rd.latest_checkpoint(out)
            intact = f"earlier checkpoints are intact (newest: {newest})" if newest else "nothing else lost"
            with reporting_write_errors("checkpoint", out / rd.CHECKPOINTS / rd.step_dir_name(step),
                                        f"{intact}; continue with: hnet-bio pretrain --resume {out}"):
                rd.save_checkpoint(out, step, model, opt, state.to_json(cfg), {
                    **meta, "train_bytes": state.train_bytes, "step": step, "eval_bpb": state.last_eval_bpb})
                if is_best:
                    rd.mark_best(out, step)
                rd.rotate_checkpoints(out, t.keep_last, state.best_step)
            with reporting_write_errors("loss plot", out / "loss.png"):
                plot_run(metrics_path, out / "loss.png", _title(model, cfg))
        state.last_checkpoint = out / rd.CHECKPOINTS / rd.step_dir_name(step)
        barrier(env)

    if ckpt is None and t.eval_every > 0:
        evaluate_and_save(0, periodic_save=False)  # the untrained baseline, for the curve

    end = min(max_steps, stop_after) if stop_after is not None else max_steps
    # Steps at which the training bytes first reach each requested count (log-spaced curves).
    eval_steps = {math.ceil(b / step_bytes) for b in (t.eval_at_bytes or [])}
    def batches_from(step: int) -> Any:
        # Own generator: creating the iterator draws a base seed, which must not advance the global
        # RNG (its state is checkpointed and equals an uninterrupted run's only if resume draws nothing).
        return iter(DataLoader(train_set, batch_sampler=WindowBatches(step, end, t.grad_accum, env.world_size,
                               env.rank, t.batch_size), num_workers=t.num_workers,
                               pin_memory=env.device.type == "cuda", worker_init_fn=ignore_interrupts,
                               generator=torch.Generator().manual_seed(t.seed)))

    batches = batches_from(state.step)
    compile_pending = t.compile  # a failing compile shows on the first step: fall back to eager
    t_start = t_log = time.perf_counter()
    bytes_at_log, bytes_at_start = state.train_bytes, state.train_bytes
    rec: dict[str, Any] = {}
    stopped_by: str | None = None
    net.train()
    with stop_on_signals(announce=env.is_main) as stop:
        try:
            while state.step < end:
                factor = sched(state.step)
                for g in opt.param_groups:
                    g["lr"] = t.lr * factor * g.get("lr_multiplier", 1.0)
                try:
                    res = train_step(net, ddp, opt, batches, env, grad_accum=t.grad_accum,
                                     grad_clip=t.grad_clip, precision=t.precision)
                except Exception as exc:
                    if not compile_pending:
                        raise
                    # Nothing was stepped yet: drop the compiled graph, redo this step eagerly.
                    say.message(f"pretrain: warning: torch.compile failed ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:120]}); continuing without train.compile")
                    uncompile(model)
                    batches = batches_from(state.step)
                    opt.zero_grad(set_to_none=True)
                    res = train_step(net, ddp, opt, batches, env, grad_accum=t.grad_accum,
                                     grad_clip=t.grad_clip, precision=t.precision)
                compile_pending = False
                stats, step = res.stats, state.step + 1
                if res.failure is not None:
                    raise TrainingDiverged(_diverged_message(res.failure, res.failed_value, step, state))
                state.step, state.train_bytes = step, state.train_bytes + step_bytes
                rec = {"kind": "train", "step": step, "train_bytes": state.train_bytes, "loss": stats[0],
                       "ce_loss": stats[1], "bpb": stats[1] / math.log(2), "ratio_loss": stats[2],
                       "compression": stats[3:], "lr": t.lr * factor, "grad_norm": res.grad_norm}
                logged = step % t.log_every == 0 or step == end
                if logged:
                    now = time.perf_counter()
                    rate = (state.train_bytes - bytes_at_log) / max(now - t_log, 1e-9)
                    t_log, bytes_at_log = now, state.train_bytes
                    rec.update(throughput(rate, flops_per_byte, t.peak_tflops, env.world_size),
                               elapsed_s=round(now - t_start, 3))
                    logger.log(rec)
                say.update(step, rec, logged)
                if on_step is not None:
                    on_step(step, rec)
                rd.fault_point("step-done", step)
                t_pause = time.perf_counter()
                do_eval = ((t.eval_every > 0 and step % t.eval_every == 0) or step == max_steps
                           or step in eval_steps)
                periodic = (t.save_every > 0 and step % t.save_every == 0) or step == end
                if do_eval:
                    evaluate_and_save(step, periodic)
                elif periodic:
                    save(step)
                if do_eval or periodic:  # keep eval and checkpoint time out of the next bytes/s
                    t_log += time.perf_counter() - t_pause
                if any_rank(bool(stop), env) and state.step < end:
                    save(state.step)
                    say.message(f"stopping on {stop.name} after step {state.step} (checkpoint written); "
                                f"continue with: hnet-bio pretrain --resume {out}")
                    stopped_by = stop.name
                    break
        finally:
            say.close()
            logger.close()
    elapsed = time.perf_counter() - t_start
    final_loss = rec["loss"] if rec else _last_loss(metrics_path) if env.is_main else None
    summary = RunSummary(
        run_dir=out, steps=state.step, max_steps=max_steps, train_bytes=state.train_bytes,
        final_loss=final_loss, final_eval_bpb=state.last_eval_bpb, best_eval_bpb=state.best_eval_bpb,
        last_checkpoint=rd.latest_checkpoint(out), best_checkpoint=rd.best_checkpoint(out),
        metrics_path=metrics_path, plot_path=(out / "loss.png") if (out / "loss.png").exists() else None,
        elapsed_s=elapsed, bytes_per_s=(state.train_bytes - bytes_at_start) / max(elapsed, 1e-9),
        stopped_by=stopped_by)
    if env.is_main:
        with reporting_write_errors("summary", out / "summary.json"):
            atomic_write_json(out / "summary.json", summary.to_json())
    if verbose:
        print(format_summary(summary), flush=True)
    return summary


def _last_loss(metrics_path: Path) -> float | None:
    """The last logged training loss (a resumed run that had nothing left to train logs none)."""
    train = read_metrics(metrics_path, "train")
    return train[-1]["loss"] if train else None


def _diverged_message(what: str, value: float, step: int, state: TrainState) -> str:
    where = f"last good checkpoint: {state.last_checkpoint}" if state.last_checkpoint else "no checkpoint yet"
    return (f"training diverged: {what} is {value} at step {step}; stopped ({where}); "
            "try a lower train.lr, train.grad_clip, or train.precision fp32")


def _title(model: torch.nn.Module, cfg: PretrainConfig) -> str:
    corpus = cfg.data.corpus if isinstance(cfg.data.corpus, str) else f"{len(cfg.data.corpus)} files"
    return f"{type(model).__name__} on {corpus}"


def format_summary(s: RunSummary) -> str:
    lines = [f"{'done' if s.completed else 'stopped'}: {s.steps}/{s.max_steps} steps, "
             f"{human_bytes(s.train_bytes)} trained in {s.elapsed_s:.0f} s ({human_bytes(s.bytes_per_s)}/s)"]
    if s.final_eval_bpb is not None:
        lines.append(f"  held-out bits/byte: {s.final_eval_bpb:.4f} (best {s.best_eval_bpb:.4f})")
    lines.append(f"  checkpoint: {s.last_checkpoint}")
    if s.best_checkpoint is not None:
        lines.append(f"  best:       {s.best_checkpoint}")
    lines.append(f"  metrics:    {s.metrics_path}")
    if s.plot_path is not None:
        lines.append(f"  loss plot:  {s.plot_path}")
    if not s.completed:
        lines.append(f"  continue:   hnet-bio pretrain --resume {s.run_dir}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI

def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "pretrain", allow_abbrev=False,
        usage="hnet-bio pretrain --config CONFIG [--data CORPUS_OR_FILES] --out RUN_DIR "
              "[--train.KEY VALUE ...]"
              "\n       hnet-bio pretrain --resume RUN_DIR [--train.KEY VALUE ...]",
        help="pretrain an H-Net (or isotropic baseline) on DNA or audio bytes",
        description="Pretrain HNetLM/IsotropicLM by next-byte prediction. Works the same under "
                    "`torchrun --nproc_per_node=N` (DDP; rank 0 writes). Any recipe key can be "
                    "overridden, e.g. --train.lr 3e-3 --train.max_steps 500.")
    p.add_argument("--config", help="recipe (YAML/JSON with model/data/train sections) or a model config")
    p.add_argument("--data", nargs="+", metavar="CORPUS_OR_FILES",
                   help="named corpus (dna-sample, dna-bacteria, audio-speech, ...) or FASTA/WAV files")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (must be new or empty)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its newest checkpoint")
    p.add_argument("--stop-after", type=int, metavar="STEPS",
                   help="checkpoint and stop after STEPS total steps (split a long run into jobs)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    group = p.add_argument_group("overrides (any recipe key)")
    for key in valid_override_keys():
        group.add_argument(f"--{key}", dest=f"override:{key}", metavar="VALUE", default=None)
    p.set_defaults(func=_run, explain_unknown=_explain_unknown)


def _explain_unknown(extras: list[str]) -> str | None:
    """Make ``--train.typo 1`` fail with the list of valid keys, not a bare "unrecognized arguments"."""
    bad = [a.split("=", 1)[0] for a in extras if a.startswith(("--train.", "--data.", "--model."))]
    if bad:
        return f"unknown override {bad[0]}; valid keys: {', '.join(valid_override_keys())}"
    return None


def _run(args: argparse.Namespace) -> int:
    overrides = {k.split(":", 1)[1]: v for k, v in vars(args).items()
                 if k.startswith("override:") and v is not None}
    data = None
    if args.data:
        data = args.data[0] if len(args.data) == 1 else list(args.data)
    if args.resume:
        if args.out and Path(args.out) != Path(args.resume):
            raise UsageError("--out and --resume name different directories; give just --resume RUN_DIR")
        cfg = load_config(args.config, overrides) if args.config else None
        if cfg is None and overrides:
            saved = Path(args.resume) / CONFIG_FILE
            if saved.is_file():
                cfg = apply_overrides(from_dict(json.loads(saved.read_text())), overrides)
        out_dir, resume = args.resume, True
    else:
        if not args.config or not args.out:
            raise UsageError("give --config CONFIG and --out RUN_DIR (or --resume RUN_DIR)")
        cfg = load_config(args.config, overrides)
        out_dir, resume = args.out, False
    summary = pretrain(cfg, data, out_dir, resume=resume, stop_after=args.stop_after, verbose=not args.quiet)
    return 130 if summary.stopped_by == "SIGINT" else 0  # the shell's status for a Ctrl-C'd job
