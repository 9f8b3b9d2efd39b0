"""Next-byte pretraining of HNetLM or IsotropicLM: `pretrain()` and the phases of its loop.

One plain loop, readable top to bottom (`train`): set-up (`run_setup.set_up`, a `TrainingRun`),
then per step windows -> forward -> loss -> backward -> clip -> AdamW at a warmup-stable-decay
learning rate times each level's multiplier (`step`), an evaluation and a checkpoint when due
(`evaluate_and_save`), and at the end `finish` (a `RunSummary`, written as summary.json). The
same function runs as one process or under ``torchrun`` with DistributedDataParallel; rank 0
alone writes. Callers watch it and stop it through `TrainingHooks`, never through exceptions.

Exact resume rests on three facts: the batch of step ``s`` is a pure function of ``(seed, s)``
(`train_step.WindowBatches`), the schedule is a pure function of ``s``, and a checkpoint holds
everything else that changes (weights, AdamW moments, RNG states, counters) bit for bit.
"""

from __future__ import annotations

import dataclasses
import math
import os

import torch

from hnet_bio.compilation import uncompile
from pipelines.output_paths import reporting_write_errors
from pipelines.runs import run_dir as rd
from pipelines.runs.lock import RunLock
from pipelines.runs.records import EvalRecord, RunSummary, TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training.distributed import any_rank, barrier, init_distributed, shutdown
from pipelines.training.evaluation import evaluate_bpb
from pipelines.training.hooks import HOOK_STOP, TrainingHooks
from pipelines.training.metrics import StepClock, plot_run
from pipelines.training.preemption import StopFlag, stop_on_signals
from pipelines.training.run_setup import DataSpec, TrainingRun, prepare_run_dir, set_up
from pipelines.training.train_config import PretrainConfig
from pipelines.training.train_step import StepResult, train_step
from pipelines.training.training_state import TrainingDiverged
from pipelines.units import human_bytes


def pretrain(cfg: PretrainConfig | None, data: DataSpec | None, out_dir: str | os.PathLike[str] | RunDir,
             resume: bool = False, stop_after: int | None = None, verbose: bool = True,
             hooks: TrainingHooks | None = None) -> RunSummary:
    """Train ``cfg``'s model on ``data`` (corpus name or files; None: ``cfg.data.corpus``) into ``out_dir``.

    resume: continue from the newest checkpoint in ``out_dir`` (``cfg`` None: the saved recipe).
    stop_after: stop after this many total steps with a checkpoint, as if preempted.
    hooks: called on every rank after each optimizer step; may ask the run to stop (`TrainingHooks`).
    """
    run_dir = out_dir if isinstance(out_dir, RunDir) else RunDir(out_dir)
    cfg = prepare_run_dir(cfg, run_dir, resume, data)
    env = init_distributed(cfg.train.device)
    determinism = (torch.are_deterministic_algorithms_enabled(),
                   torch.is_deterministic_algorithms_warn_only_enabled())
    lock = RunLock(run_dir.path, enabled=env.is_main)
    try:
        if cfg.train.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        run = set_up(cfg, run_dir, env, resume, stop_after, verbose and env.is_main, lock)
        return train(run, hooks or TrainingHooks())
    finally:
        lock.release()
        torch.use_deterministic_algorithms(determinism[0], warn_only=determinism[1])
        shutdown(env)


def train(run: TrainingRun, hooks: TrainingHooks) -> RunSummary:
    """The loop: step, tell the hooks, evaluate and save when due, stop when asked or at the end."""
    state = run.state
    if run.resumed_from is None and run.cfg.train.eval_every > 0:
        evaluate_and_save(run, 0, periodic_save=False)  # the untrained baseline, for the curve
    run.batches = run.batches_from(state.step)
    clock = StepClock(state.train_bytes)
    last: TrainRecord | None = None
    stopped_by: str | None = None
    run.net.train()
    with stop_on_signals(announce=run.env.is_main) as signalled:
        try:
            while state.step < run.end:
                last = step(run, clock)
                hook_asks = hooks.after_step(last)
                rd.fault_point("step-done", last.step)
                with clock.paused():  # keep eval and checkpoint time out of the next bytes/s
                    evaluate_and_save_if_due(run, last.step)
                if any_rank(bool(signalled) or hook_asks, run.env) and state.step < run.end:
                    stopped_by = stop(run, signalled, hook_asks)
                    break
        finally:
            run.progress.close()
            run.logger.close()
    return finish(run, clock, last, stopped_by)


def step(run: TrainingRun, clock: StepClock) -> TrainRecord:
    """One optimizer step at the scheduled learning rate; its record, logged on log steps."""
    t, state = run.cfg.train, run.state
    factor = run.sched(state.step)
    for group in run.opt.param_groups:
        group["lr"] = t.lr * factor * group.get("lr_multiplier", 1.0)
    res = _train_step_or_eager(run)
    done = state.step + 1
    if res.failure is not None:
        raise TrainingDiverged(_diverged_message(res, done, run))
    state.step, state.train_bytes = done, state.train_bytes + run.step_bytes
    loss, ce_loss, ratio_loss, *compression = res.stats
    rec = TrainRecord(step=done, train_bytes=state.train_bytes, loss=loss, ce_loss=ce_loss,
                      bpb=ce_loss / math.log(2), ratio_loss=ratio_loss, compression=compression,
                      lr=t.lr * factor, grad_norm=res.grad_norm)
    logged = done % t.log_every == 0 or done == run.end
    if logged:
        rec = dataclasses.replace(rec, **clock.lap(state.train_bytes, run.flops_per_byte, t.peak_tflops,
                                                   run.env.world_size))
        run.logger.log(rec)
    run.progress.update(done, rec, logged)
    return rec


def _train_step_or_eager(run: TrainingRun) -> StepResult:
    """`train_step`; a failing first compiled step (data-dependent shapes) is redone eagerly on the
    same batches, with a warning."""
    t = run.cfg.train
    assert run.batches is not None
    try:
        return train_step(run.net, run.ddp, run.opt, run.batches, run.env, grad_accum=t.grad_accum,
                          grad_clip=t.grad_clip, precision=t.precision)
    except Exception as exc:
        if not run.compile_pending:
            raise
        # Nothing was stepped yet: drop the compiled graph, redo this step eagerly.
        run.progress.message(f"pretrain: warning: torch.compile failed ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:120]}); continuing without train.compile")
        uncompile(run.model)
        run.batches = run.batches_from(run.state.step)
        run.opt.zero_grad(set_to_none=True)
        return train_step(run.net, run.ddp, run.opt, run.batches, run.env, grad_accum=t.grad_accum,
                          grad_clip=t.grad_clip, precision=t.precision)
    finally:
        run.compile_pending = False


def evaluate_and_save_if_due(run: TrainingRun, step: int) -> None:
    """Evaluate at eval_every, eval_at_bytes and the last step; checkpoint at save_every and the end."""
    t = run.cfg.train
    due_eval = ((t.eval_every > 0 and step % t.eval_every == 0) or step == run.max_steps
                or step in run.eval_steps)
    periodic = (t.save_every > 0 and step % t.save_every == 0) or step == run.end
    if due_eval:
        evaluate_and_save(run, step, periodic)
    elif periodic:
        save(run, step)


def evaluate_and_save(run: TrainingRun, step: int, periodic_save: bool) -> None:
    """Held-out bits/byte (all ranks), logged; then a checkpoint if periodic or a new best."""
    t, state = run.cfg.train, run.state
    score = evaluate_bpb(run.model, run.data.eval_set, run.env, t.eval_batch_size or t.batch_size,
                         t.precision, per_window=t.eval_window_scores)
    ev = EvalRecord(step=step, train_bytes=state.train_bytes, **score.to_json())
    is_best = state.best_eval_bpb is None or ev.eval_bpb < state.best_eval_bpb
    if is_best:
        state.best_eval_bpb, state.best_step = ev.eval_bpb, step
    state.last_eval_bpb = ev.eval_bpb
    run.logger.log(dataclasses.replace(ev, best=is_best))
    run.progress.message(f"eval @ step {step} ({human_bytes(state.train_bytes)} seen): "
                         f"{ev.eval_bpb:.4f} bits/byte{' (best)' if is_best else ''}")
    if step > 0 and (periodic_save or is_best):
        save(run, step, is_best)
    elif run.env.is_main:
        _plot(run)


def save(run: TrainingRun, step: int, is_best: bool = False) -> None:
    """Rank 0 writes; every rank waits, so no rank runs ahead of a checkpoint being written."""
    state, out = run.state, run.dir
    if run.env.is_main:
        newest = out.latest_checkpoint()
        intact = f"earlier checkpoints are intact (newest: {newest})" if newest else "nothing else lost"
        with reporting_write_errors("checkpoint", out.checkpoint_path(step),
                                    f"{intact}; continue with: hnet-bio pretrain --resume {out.path}"):
            meta = run.meta.replace(train_bytes=state.train_bytes, step=step, eval_bpb=state.last_eval_bpb)
            out.save_checkpoint(step, run.model, run.opt, state.record(run.cfg), meta, best=is_best,
                                keep_last=run.cfg.train.keep_last, best_step=state.best_step)
        _plot(run)
    state.last_checkpoint = out.checkpoint_path(step)
    barrier(run.env)


def stop(run: TrainingRun, signalled: StopFlag, hook_asks: bool) -> str | None:
    """Checkpoint the step just done and say how to continue; what stopped the run (None when it
    was another rank's signal)."""
    save(run, run.state.step)
    stopped_by = signalled.name or (HOOK_STOP if hook_asks else None)
    why = "a training hook's request" if stopped_by == HOOK_STOP else stopped_by
    run.progress.message(f"stopping on {why} after step {run.state.step} (checkpoint written); "
                         f"continue with: hnet-bio pretrain --resume {run.dir.path}")
    return stopped_by


def finish(run: TrainingRun, clock: StepClock, last: TrainRecord | None,
           stopped_by: str | None) -> RunSummary:
    """The run's `RunSummary`, written as summary.json (rank 0) and printed (verbose)."""
    state, out = run.state, run.dir
    elapsed = clock.elapsed()
    final_loss = last.loss if last else _last_loss(out) if run.env.is_main else None
    summary = RunSummary(
        run_dir=out.path, steps=state.step, max_steps=run.max_steps, train_bytes=state.train_bytes,
        final_loss=final_loss, final_eval_bpb=state.last_eval_bpb, best_eval_bpb=state.best_eval_bpb,
        last_checkpoint=out.latest_checkpoint(), best_checkpoint=out.best_checkpoint(),
        metrics_path=out.metrics_path, plot_path=out.loss_plot_path if out.loss_plot_path.exists() else None,
        elapsed_s=elapsed, bytes_per_s=(state.train_bytes - clock.start_bytes) / max(elapsed, 1e-9),
        stopped_by=stopped_by)
    if run.env.is_main:
        with reporting_write_errors("summary", out.summary_path):
            out.write_summary(summary)
    if run.verbose:
        print(format_summary(summary), flush=True)
    return summary


def format_summary(s: RunSummary) -> str:
    """The lines `hnet-bio pretrain` prints at the end: progress, held-out bits/byte, paths."""
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


def _plot(run: TrainingRun) -> None:
    with reporting_write_errors("loss plot", run.dir.loss_plot_path):
        plot_run(run.dir, run.title)


def _last_loss(run: RunDir) -> float | None:
    """The last logged training loss (a resumed run that had nothing left to train logs none)."""
    train = run.train_records()
    return train[-1].loss if train else None


def _diverged_message(res: StepResult, step: int, run: TrainingRun) -> str:
    last = run.state.last_checkpoint
    where = f"last good checkpoint: {last}" if last else "no checkpoint yet"
    return (f"training diverged: {res.failure} is {res.failed_value} at step {step}; stopped ({where}); "
            "try a lower train.lr, train.grad_clip, or train.precision fp32")
