"""Run metrics: an append-only ``metrics.jsonl``, a loss plot, and progress on the terminal.

Every record is one JSON object per line with a ``kind`` ("train" or "eval"), the optimizer
``step`` and ``train_bytes`` (training bytes seen, all ranks), so data-efficiency curves can be
drawn from any run. Floats are written with Python's shortest round-trip repr, so two runs that
compute the same losses write byte-identical numbers (the resume test relies on this).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import torch
from tqdm import tqdm

from hnet_bio.atomic import atomic_write
from pipelines.output_paths import reporting_write_errors
from pipelines.runs.records import EvalRecord, TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.units import human_bytes


class MetricsLogger:
    """Appends records to ``metrics.jsonl``; a no-op on non-main ranks (``path=None``)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._failed = False
        self._fh: TextIO | None = open(path, "a") if path is not None else None  # noqa: SIM115
        self._where = str(path)

    def log(self, record: TrainRecord | EvalRecord | dict[str, Any]) -> None:
        if self._fh is None:
            return
        row = record if isinstance(record, dict) else record.to_json()
        try:
            with reporting_write_errors("metrics", self._where, "the checkpoints written so far are intact"):
                self._fh.write(json.dumps(row, allow_nan=True) + "\n")
                self._fh.flush()
        except BaseException:
            self._failed = True
            raise

    def close(self) -> None:
        """Flush and fsync; after a failed write only release the file (that error is the one to report)."""
        if self._fh is None:
            return
        fh, self._fh = self._fh, None
        if self._failed:
            with contextlib.suppress(OSError):
                fh.close()
            return
        with reporting_write_errors("metrics", self._where):
            try:
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fh.close()


def plot_run(run: RunDir, title: str = "") -> Path | None:
    """Train bits/byte and held-out bits/byte against training bytes seen, as ``run``'s loss plot.

    Uses matplotlib's object API with the Agg canvas, so it needs no display and leaves no global
    pyplot state behind in long-running processes.
    """
    # matplotlib is imported only when a plot is drawn: it takes a second to import, and the
    # jobs that only read runs never need it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train, evals = run.train_records(), run.eval_records()
    if not train and not evals:
        return None
    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if train:
        ax.plot([r.train_bytes for r in train], [math.nan if r.bpb is None else r.bpb for r in train],
                lw=1.0, alpha=0.8, label="train bits/byte")
    if evals:
        ax.plot([r.train_bytes for r in evals], [r.eval_bpb for r in evals],
                "o-", lw=1.5, ms=4, label="held-out bits/byte")
    ax.set_xlabel("training bytes seen")
    ax.set_ylabel("bits per byte")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_write(run.loss_plot_path) as fh:
        fig.savefig(fh, format="png")
    return run.loss_plot_path


class Progress:
    """A tqdm bar on a terminal; on a pipe or file, one plain line every ``log_every`` steps."""

    def __init__(self, total: int, initial: int, enabled: bool, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bar = (tqdm(total=total, initial=initial, file=self.stream, unit="step",
                         dynamic_ncols=True, smoothing=0.1) if tty else None)
        self.total = total
        self._t0 = time.perf_counter()

    def update(self, step: int, rec: TrainRecord, logged: bool) -> None:
        """Called after every optimizer step with the latest stats; ``logged`` marks log steps."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if logged:
                self.bar.set_postfix_str(self._fields(rec), refresh=False)
        elif logged:
            print(f"step {step}/{self.total} | {self._fields(rec)}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    @staticmethod
    def _fields(rec: TrainRecord) -> str:
        parts = [f"loss {rec.loss:.4f}", f"bpb {rec.bpb:.4f}"]
        if rec.compression:
            parts.append("B/chunk " + "/".join(f"{c:.2f}" for c in rec.compression))
        parts.append(f"{human_bytes(rec.bytes_per_s or 0.0)}/s")
        if rec.tflops is not None:
            parts.append(f"{rec.tflops:.3g} TFLOP/s")
        if rec.mfu is not None:
            parts.append(f"MFU {100 * rec.mfu:.1f}%")
        parts.append(f"lr {rec.lr:.2e}")
        return " | ".join(parts)


def training_flops_per_byte(model: torch.nn.Module, seq_len: int) -> float | None:
    """Training FLOPs per byte (forward + backward) from the model's own estimate."""
    fn = getattr(model, "flops_per_byte", None)
    try:
        return float(fn(seq_len, training=True)) if fn is not None else None
    except Exception:  # an estimate only; never let it stop training
        return None


def throughput(rate: float, fpb: float | None, peak_tflops: float | None, world: int) -> dict[str, Any]:
    """bytes/s over all ranks, achieved training TFLOP/s, and MFU when the device peak is known."""
    out: dict[str, Any] = {"bytes_per_s": round(rate, 1)}
    if fpb is not None:
        out["tflops"] = fpb * rate / 1e12
        if peak_tflops:
            out["mfu"] = out["tflops"] / (peak_tflops * world)
    return out


class StepClock:
    """Wall time of the training loop: bytes/s between logged steps, with evaluations and checkpoints
    (`paused`) left out, and the run's elapsed time (started when the loop starts)."""

    def __init__(self, start_bytes: int) -> None:
        self.start_bytes = start_bytes
        self._t_start = self._t_log = time.perf_counter()
        self._bytes_at_log = start_bytes

    def lap(self, train_bytes: int, fpb: float | None, peak_tflops: float | None,
            world: int) -> dict[str, Any]:
        """The timing fields of a logged `TrainRecord` (bytes_per_s, tflops, mfu, elapsed_s), this lap."""
        now = time.perf_counter()
        rate = (train_bytes - self._bytes_at_log) / max(now - self._t_log, 1e-9)
        self._t_log, self._bytes_at_log = now, train_bytes
        return {**throughput(rate, fpb, peak_tflops, world), "elapsed_s": round(now - self._t_start, 3)}

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside does not count toward the next lap's bytes/s (it does toward elapsed)."""
        t_pause = time.perf_counter()
        try:
            yield
        finally:
            self._t_log += time.perf_counter() - t_pause

    def elapsed(self) -> float:
        return time.perf_counter() - self._t_start
