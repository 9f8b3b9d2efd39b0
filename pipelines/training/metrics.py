"""Run metrics: an append-only ``metrics.jsonl``, a loss plot, and progress on the terminal.

Every record is one JSON object per line with a ``kind`` ("train" or "eval"), the optimizer
``step`` and ``train_bytes`` (training bytes seen, all ranks), so data-efficiency curves can be
drawn from any run. Floats are written with Python's shortest round-trip repr, so two runs that
compute the same losses write byte-identical numbers (the resume test relies on this).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import torch
from tqdm import tqdm

from hnet_bio.atomic import atomic_write, atomic_write_text
from pipelines.output_paths import reporting_write_errors
from pipelines.units import human_bytes


class MetricsLogger:
    """Appends records to ``metrics.jsonl``; a no-op on non-main ranks (``path=None``)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._failed = False
        self._fh: TextIO | None = open(path, "a") if path is not None else None  # noqa: SIM115

    def log(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        try:
            with reporting_write_errors("metrics", self.path, "the checkpoints written so far are intact"):
                self._fh.write(json.dumps(record, allow_nan=True) + "\n")
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
        with reporting_write_errors("metrics", self.path):
            try:
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fh.close()


def read_metrics(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """All records of ``metrics.jsonl`` (optionally one kind); a torn last line is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
        if kind is None or rec.get("kind") == kind:
            out.append(rec)
    return out


def truncate_metrics(path: Path, max_step: int) -> None:
    """Drop records after ``max_step``: on resume the run restarts from the checkpoint's step,
    and whatever an interrupted run logged past it is recomputed (identically) and logged again."""
    if not path.is_file():
        return
    keep = [json.dumps(r) for r in read_metrics(path) if r.get("step", 0) <= max_step]
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def plot_run(metrics_path: str | Path, png_path: str | Path, title: str = "") -> Path | None:
    """Train bits/byte and held-out bits/byte against training bytes seen, as a PNG.

    Uses matplotlib's object API with the Agg canvas, so it needs no display and leaves no global
    pyplot state behind in long-running processes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train = read_metrics(metrics_path, "train")
    evals = read_metrics(metrics_path, "eval")
    if not train and not evals:
        return None
    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if train:
        ax.plot([r["train_bytes"] for r in train], [r["bpb"] for r in train],
                lw=1.0, alpha=0.8, label="train bits/byte")
    if evals:
        ax.plot([r["train_bytes"] for r in evals], [r["eval_bpb"] for r in evals],
                "o-", lw=1.5, ms=4, label="held-out bits/byte")
    ax.set_xlabel("training bytes seen")
    ax.set_ylabel("bits per byte")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    png_path = Path(png_path)
    with atomic_write(png_path) as fh:
        fig.savefig(fh, format="png")
    return png_path


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

    def update(self, step: int, rec: dict[str, Any], logged: bool) -> None:
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
    def _fields(rec: dict[str, Any]) -> str:
        parts = [f"loss {rec['loss']:.4f}", f"bpb {rec['bpb']:.4f}"]
        comp = rec.get("compression") or []
        if comp:
            parts.append("B/chunk " + "/".join(f"{c:.2f}" for c in comp))
        parts.append(f"{human_bytes(rec.get('bytes_per_s', 0.0))}/s")
        if rec.get("tflops") is not None:
            parts.append(f"{rec['tflops']:.3g} TFLOP/s")
        if rec.get("mfu") is not None:
            parts.append(f"MFU {100 * rec['mfu']:.1f}%")
        parts.append(f"lr {rec['lr']:.2e}")
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
