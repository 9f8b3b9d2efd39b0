"""The set-up phase of a pretraining run: everything the loop needs, checked and built once.

`prepare_run_dir` validates the run directory before anything is read or written (a fresh run
needs an empty one; ``--resume`` one with a saved recipe). `set_up` then opens the data (sizes
checked), builds the model and AdamW, restores a checkpoint or starts fresh, writes the recipe,
wraps the model for DDP / torch.compile, and returns it all as one `TrainingRun`, the typed state
that the loop's phases (`pipelines.training.loop`) share.

The order is the order of the user's messages: refusals (free space, another run's checkpoint, a
schedule that cannot be extended) come before the first byte is written.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from hnet_bio import HNetLM, IsotropicLM, build_model
from hnet_bio.compilation import compile_byte_level
from hnet_bio.config import HNetConfig
from hnet_bio.metadata import CheckpointMetadata
from hnet_bio.optim import param_groups
from hnet_bio.recompute import set_recompute
from pipelines.errors import UsageError
from pipelines.output_paths import check_free_space, check_output_dir, reporting_write_errors
from pipelines.runs import pointers
from pipelines.runs import run_dir as rd
from pipelines.runs.lock import RunLock, current_holder
from pipelines.runs.run_dir import RunDir
from pipelines.training.distributed import DistEnv, barrier
from pipelines.training.metrics import MetricsLogger, Progress, training_flops_per_byte
from pipelines.training.preemption import ignore_interrupts
from pipelines.training.resume import check_same_run, plan_schedule
from pipelines.training.rng import seed_rng
from pipelines.training.schedule import WSDSchedule
from pipelines.training.train_config import PretrainConfig, apply_overrides, read_config
from pipelines.training.train_step import WindowBatches
from pipelines.training.training_data import TrainingData, open_training_data
from pipelines.training.training_state import TrainState, build_metadata, restore
from pipelines.units import human_bytes

DataSpec = str | os.PathLike[str] | list[str | os.PathLike[str]]


@dataclass
class TrainingRun:
    """What the loop's phases share: the run's fixed facts and its live objects.

    ``model`` is the bare module (evaluation, checkpoints); ``net`` is what a step runs (the DDP
    wrapper under torchrun, else the model itself). ``state`` holds the counters a checkpoint
    stores; ``batches`` the data iterator (rebuilt if a compiled first step falls back to eager).
    """

    cfg: PretrainConfig
    env: DistEnv
    dir: RunDir
    data: TrainingData
    model: HNetLM | IsotropicLM
    net: torch.nn.Module
    ddp: DistributedDataParallel | None
    opt: torch.optim.Optimizer
    sched: WSDSchedule
    state: TrainState
    meta: CheckpointMetadata  # what every checkpoint's metadata.json says about the data
    logger: MetricsLogger
    progress: Progress
    resumed_from: Path | None  # the checkpoint this run continues, None for a fresh start
    step_bytes: int  # predicted bytes per optimizer step, all ranks
    max_steps: int  # the recipe's length (byte_budget or max_steps)
    end: int  # where this job stops: max_steps, or --stop-after
    eval_steps: frozenset[int]  # steps at which train.eval_at_bytes asks for an evaluation
    flops_per_byte: float | None
    title: str  # of the loss plot
    verbose: bool
    compile_pending: bool  # a compiled first step may still fail and fall back to eager
    batches: Iterator[torch.Tensor] | None = None

    def batches_from(self, step: int) -> Iterator[torch.Tensor]:
        """This rank's micro-batches from ``step`` to ``end`` (window indices: `WindowBatches`)."""
        t, env = self.cfg.train, self.env
        # Own generator: creating the iterator draws a base seed, which must not advance the global
        # RNG (its state is checkpointed and equals an uninterrupted run's only if resume draws nothing).
        return iter(DataLoader(self.data.train_set, batch_sampler=WindowBatches(
            step, self.end, t.grad_accum, env.world_size, env.rank, t.batch_size), num_workers=t.num_workers,
            pin_memory=env.device.type == "cuda", worker_init_fn=ignore_interrupts,
            generator=torch.Generator().manual_seed(t.seed)))


def prepare_run_dir(cfg: PretrainConfig | None, run: RunDir, resume: bool,
                    data: DataSpec | None) -> PretrainConfig:
    """Validate before anything is written: a fresh run needs an empty directory; a resumed one its
    saved recipe (used when ``cfg`` is None). ``data`` replaces the recipe's ``data.corpus``."""
    out = run.path
    if os.environ.get("RANK", "0") == "0":  # rank 0 writes (and locks); torchrun's others follow it
        holder = current_holder(out)
        if holder is not None:
            raise UsageError(f"run directory {out} is being written by {holder.describe()}; wait for it "
                             "to finish, or stop it, before writing this run again")
    if resume:
        if out.exists() and not out.is_dir():
            raise UsageError(f"cannot resume {out}: it is a file, not a run directory")
        if cfg is None:
            if not run.config_path.is_file():
                raise UsageError(f"cannot resume {out}: no {run.CONFIG} there")
            cfg = read_config(out)
        pointers.check_layout(out)
        check_output_dir(out, "--resume")
    else:
        check_output_dir(out)  # a regular file, an unwritable place: said before any work
        if out.exists() and any(p.name != RunDir.LOCK for p in out.iterdir()):  # a stale lock: empty
            raise UsageError(f"run directory {out} is not empty; use --resume {out} to continue it, "
                             "or choose another --out")
    if cfg is None:
        raise UsageError("no config given")
    if data is not None:
        spec = [os.fspath(d) for d in data] if isinstance(data, (list, tuple)) else os.fspath(data)
        cfg = apply_overrides(cfg, {"data.corpus": spec})
    return cfg


def set_up(cfg: PretrainConfig, run: RunDir, env: DistEnv, resume: bool, stop_after: int | None,
           verbose: bool, lock: RunLock | None = None) -> TrainingRun:
    """Data, model, optimizer, restored state, the run directory written, the model wrapped.

    lock: taken (rank 0) once the inputs are checked and before the run directory is read for a
    resume or written; the caller releases it when the run ends, however it ends.
    """
    t = cfg.train
    data = open_training_data(cfg)  # sizes checked here, before anything is trained or written
    model = build_seeded_model(cfg, env)
    step_bytes = t.batch_size * t.seq_len * t.grad_accum * env.world_size  # predicted bytes per step
    max_steps = math.ceil(t.byte_budget / step_bytes) if t.byte_budget else t.max_steps
    opt = torch.optim.AdamW(param_groups(model, weight_decay=t.weight_decay), lr=t.lr, betas=t.betas,
                            eps=t.eps)
    meta = build_metadata(data.train_corpus, cfg)
    if env.is_main:  # weights (4 B/param) + AdamW moments (8 B/param): one checkpoint must fit
        check_free_space(run.path, 12 * model.num_parameters(), "a checkpoint",
                         "--resume" if resume else "--out")
    if lock is not None and env.is_main:
        lock.acquire()  # one writer per run directory; names the other one if it is taken
        if lock.took_over is not None:
            print(f"pretrain: took over the lock of {run.path} left by {lock.took_over.describe()}, "
                  "which is no longer running", file=sys.stderr)
    if resume and env.is_main:  # a copy that dereferenced `best`: the symlink again, nothing lost
        with reporting_write_errors("run directory", run.path):
            pointers.repair_pointers(run.path)
    barrier(env)
    ckpt = run.latest_checkpoint() if resume else None
    state = restore_or_start(run, ckpt, cfg, meta, model, opt, env, step_bytes, max_steps, resume)
    sched = WSDSchedule.from_fractions(state.schedule_steps, t.warmup_fraction, t.decay_fraction,
                                       t.min_lr_ratio, t.decay_shape, t.warmup_steps)
    if env.is_main:
        write_run_dir(run, cfg, state, resumed=ckpt is not None)
    barrier(env)
    net, ddp = wrap_model(model, cfg, env)
    end = min(max_steps, stop_after) if stop_after is not None else max_steps
    training = TrainingRun(
        cfg=cfg, env=env, dir=run, data=data, model=model, net=net, ddp=ddp, opt=opt, sched=sched,
        state=state, meta=meta, logger=MetricsLogger(run.metrics_path if env.is_main else None),
        progress=Progress(max_steps, state.step, verbose), resumed_from=ckpt, step_bytes=step_bytes,
        max_steps=max_steps, end=end,
        # Steps at which the training bytes first reach each requested count (log-spaced curves).
        eval_steps=frozenset(math.ceil(b / step_bytes) for b in (t.eval_at_bytes or [])),
        flops_per_byte=training_flops_per_byte(model, t.seq_len), title=_title(model, cfg),
        verbose=verbose, compile_pending=t.compile)
    if verbose:
        announce(training)
    return training


def build_seeded_model(cfg: PretrainConfig, env: DistEnv) -> HNetLM | IsotropicLM:
    """The recipe's model from seed ``train.seed``, on this rank's device (activation recomputation
    on when ``train.recompute``)."""
    torch.manual_seed(cfg.train.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    seed_rng(cfg.train.seed)  # Python's and NumPy's too: every RNG state in a checkpoint is the run's own
    model = build_model(HNetConfig.from_dict(cfg.model_config_dict())).to(env.device)
    if cfg.train.recompute:
        set_recompute(model, True)
    return model


def restore_or_start(run: RunDir, ckpt: Path | None, cfg: PretrainConfig, meta: CheckpointMetadata,
                     model: torch.nn.Module, opt: torch.optim.Optimizer, env: DistEnv, step_bytes: int,
                     max_steps: int, resume: bool) -> TrainState:
    """The state of checkpoint ``ckpt`` loaded into ``model``/``opt`` (after refusing another run's
    checkpoint), or a fresh state; the schedule re-planned or kept as `plan_schedule` decides."""
    state = TrainState(world_size=env.world_size, step_bytes=step_bytes, schedule_steps=max_steps)
    schedule_note = None
    if ckpt is not None:  # refuse a different run before anything is loaded or written
        check_same_run(run.path, ckpt, cfg, meta)
        schedule_steps, schedule_note = plan_schedule(run.path, run.trainer_state(ckpt), max_steps, cfg.train)
        state = restore(ckpt, model, opt, env, step_bytes, schedule_steps)
    elif resume and env.is_main:
        print(f"pretrain: warning: no checkpoint in {run.path}; starting it again from step 0",
              file=sys.stderr)
    if schedule_note and env.is_main:  # not progress: said even with --quiet
        print(f"pretrain: {schedule_note}", file=sys.stderr)
    return state


def write_run_dir(run: RunDir, cfg: PretrainConfig, state: TrainState, resumed: bool) -> None:
    """Rank 0: the directory, the recipe, and the metrics of a resumed run cut back to its checkpoint
    (with the bookkeeping a kill between save and rotation left undone); a fresh run's metrics cleared."""
    with reporting_write_errors("run directory", run.path):
        run.path.mkdir(parents=True, exist_ok=True)
        rd.remove_stale_temporaries(run.path)
        run.write_config(cfg.to_dict())
        if resumed:
            run.truncate_metrics(state.step)
            rd.finish_interrupted(run.path, cfg.train.keep_last, state.best_step)
        else:
            run.metrics_path.unlink(missing_ok=True)


def wrap_model(model: HNetLM | IsotropicLM, cfg: PretrainConfig,
               env: DistEnv) -> tuple[torch.nn.Module, DistributedDataParallel | None]:
    """(what a step runs, its DDP wrapper or None); byte-level layers compiled if asked."""
    net: torch.nn.Module = model
    ddp: DistributedDataParallel | None = None
    if env.distributed:
        net = ddp = DistributedDataParallel(model, device_ids=[env.device.index] if env.device.type == "cuda"
                                            else None)
    if cfg.train.compile:
        compile_byte_level(model)  # byte-level layers only: inner lengths are data-dependent
    return net, ddp


def announce(run: TrainingRun) -> None:
    """The start line (model, data, steps, processes, fresh or resumed) and what the data became."""
    corpus, env = run.data.train_corpus, run.env
    start = f"resuming at step {run.state.step}" if run.resumed_from else "fresh start"
    run.progress.message(
        f"pretrain: {type(run.model).__name__} {run.model.num_parameters() / 1e6:.2f}M params | "
        f"{corpus.modality} corpus {human_bytes(corpus.total_bytes)} | "
        f"{run.max_steps} steps x {human_bytes(run.step_bytes)} | {env.world_size} process(es) on "
        f"{env.device} | {start}")
    for note in run.data.notes:
        run.progress.message(note)


def _title(model: torch.nn.Module, cfg: PretrainConfig) -> str:
    corpus = cfg.data.corpus if isinstance(cfg.data.corpus, str) else f"{len(cfg.data.corpus)} files"
    return f"{type(model).__name__} on {corpus}"
