"""Run the analysis forwards on both cores: worker processes of one thread each, results in order.

Measured on the project's 2-core machine (benchmarks/inference.py, docs/analysis.md): the forward
pass is mostly memory-bound elementwise work on (batch, window, channels) tensors, which two
OpenMP threads inside one process split poorly, while two processes of one thread each, each with
its own small batch, ran close to twice one process.

The workers are plain child interpreters (running `serve_stdio`) speaking pickle
over their stdin/stdout, not `multiprocessing`: its "spawn" start re-runs the caller's main script
in every child (a Streamlit app or a user's unguarded script would start again), and "fork" from a
process that already ran OpenMP threads, or from the browser's threaded server, can hang. Each
worker rebuilds the model from its config and weights, then answers jobs first-in first-out; jobs
go round-robin, so job i's result is the next answer of worker i mod n and order is kept for free.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import torch

from hnet_bio.config import HNetConfig
from hnet_bio.errors import ConfigError
from hnet_bio.lm import HNetLM, IsotropicLM, build_model
from hnet_bio.threads import idle_cores

MIN_BATCHES_PER_WORKER = 4  # below this a worker's start (~2-3 s: import torch, build) is not repaid
IN_FLIGHT = 2  # jobs queued per worker: one running, one waiting, so a worker never idles on the parent
_END = "end"
WORKERS_ENV = "HNET_BIO_WORKERS"  # a fixed number of workers for every job (1 = in process)
_CHILD = "from hnet_bio.workers import serve_stdio; serve_stdio()"


@dataclass(frozen=True)
class WorkerModel:
    """What a worker needs to rebuild the parent's model: its config, weights and dtype."""

    config: HNetConfig
    state: dict[str, torch.Tensor]
    dtype: torch.dtype

    @classmethod
    def of(cls, model: HNetLM | IsotropicLM) -> WorkerModel:
        return cls(model.config, {k: v.detach().cpu() for k, v in model.state_dict().items()},
                   next(model.parameters()).dtype)

    def build(self) -> HNetLM | IsotropicLM:
        model = build_model(self.config).to(self.dtype)
        model.load_state_dict(self.state)
        return model.eval()


@dataclass(frozen=True)
class WorkerError:
    """A job that raised in a worker: the formatted traceback, re-raised in the parent."""

    text: str


def choose_workers(batches: int, requested: int | None = None, device: torch.device | None = None) -> int:
    """`requested` if given; else 1 on a GPU (workers are CPU processes); else $HNET_BIO_WORKERS
    if set; else 1 for a short job, otherwise one per core idle now (at most one worker per
    MIN_BATCHES_PER_WORKER batches)."""
    if requested is None and device is not None and device.type != "cpu":
        return 1
    if requested is None and os.environ.get(WORKERS_ENV, "").strip():
        try:
            requested = int(os.environ[WORKERS_ENV])
        except ValueError:
            value = os.environ[WORKERS_ENV]
            raise ConfigError(f"${WORKERS_ENV} must be a whole number, got {value!r}") from None
    if requested is not None:
        if requested < 1:
            raise ConfigError(f"workers must be >= 1, got {requested}")
        return requested
    most = batches // MIN_BATCHES_PER_WORKER
    if most < 2:
        return 1
    return max(1, min(most, round(idle_cores())))


class _Worker:
    """One child interpreter and its pipes."""

    def __init__(self, spec: WorkerModel, task: Callable[..., Any]) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.send((spec, task))

    def send(self, obj: object) -> None:
        assert self.proc.stdin is not None
        pickle.dump(obj, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()

    def receive(self) -> Any:
        assert self.proc.stdout is not None
        try:
            answer = pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError(f"an analysis worker exited (status {self.proc.wait()})") from None
        if isinstance(answer, WorkerError):
            raise RuntimeError(f"an analysis worker failed:\n{answer.text}")
        return answer

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def map_in_workers(
    model: HNetLM | IsotropicLM, task: Callable[..., Any], jobs: Iterable[tuple[Any, ...]], workers: int
) -> Iterator[Any]:
    """``task(model, *job)`` for every job, in job order, computed by `workers` child processes.

    `task` must be a module-level function (pickled by name); jobs and results must pickle (numpy
    arrays and dataclasses of them do). Results stream back as they finish.
    """
    spec = WorkerModel.of(model)
    pool = [_Worker(spec, task) for _ in range(workers)]
    slots = threading.Semaphore(IN_FLIGHT * workers)
    stop = threading.Event()
    feed_error: list[BaseException] = []

    def feed() -> None:  # a thread, so a full stdin pipe can never block the reader below
        count = 0
        try:
            for job in jobs:
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                pool[count % workers].send(job)
                count += 1
            for i in range(workers):  # the next answer after the last job, in round-robin order
                pool[(count + i) % workers].send(None)
        except BaseException as exc:  # reported by the reader, which owns the exceptions
            feed_error.append(exc)
            for w in pool:
                w.stop()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        i = 0
        while True:
            try:
                answer = pool[i % workers].receive()
            except RuntimeError:
                if feed_error:
                    raise feed_error[0] from None
                raise
            if isinstance(answer, str) and answer == _END:
                return
            slots.release()
            yield answer
            i += 1
    finally:
        stop.set()
        for w in pool:
            w.stop()
        feeder.join(timeout=5)


def run_jobs(
    model: HNetLM | IsotropicLM, task: Callable[..., Any], jobs: Sequence[tuple[Any, ...]],
    workers: int | None = None,
) -> Iterator[Any]:
    """``task(model, *job)`` for every job, in order: in worker processes when `choose_workers`
    (given `workers`, the job count and the model's device) picks more than one, else here."""
    n = choose_workers(len(jobs), workers, next(model.parameters()).device)
    if n > 1:
        return map_in_workers(model, task, jobs, n)
    return (task(model, *job) for job in jobs)


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The worker's loop: the model spec and task first, then one answer per job until None."""
    torch.set_num_threads(1)
    spec, task = pickle.load(stdin)
    model = spec.build()
    while True:
        job = pickle.load(stdin)
        if job is None:
            pickle.dump(_END, stdout)
            stdout.flush()
            return
        try:
            answer = task(model, *job)
        except Exception:
            answer = WorkerError(traceback.format_exc())
        pickle.dump(answer, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


def serve_stdio() -> None:
    """A worker's entry point: answers go to a private copy of stdout, and anything printed by
    accident goes to stderr instead, so it cannot corrupt the pickle stream."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, answers)
