"""What `hnet-bio evaluate` found: one checkpoint's held-out number, bytes per chunk and anchors.

`evaluate_checkpoint` returns an `EvaluationResult`; the job prints `format_table` of it and
writes `EvaluationResult.to_json` with ``--json``. The JSON keys are spelled here only, in the
order the file has always had them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.evaluation.anchors import MarkovResult
from pipelines.evaluation.intervals import Interval, bootstrap_mean
from pipelines.evaluation.scope import UsedSpan, describe


@dataclass(frozen=True)
class AnchorNumbers:
    """The classical anchors on the predicted bytes of the evaluation windows.

    markov: every order 0..max_order, counted on the training units; xz / zstd: the windows'
    predicted bytes concatenated (``compressed``: how many bytes that was).
    """

    markov: MarkovResult
    xz: float
    zstd: float
    compressed: int

    def to_json(self) -> dict[str, Any]:
        return {"markov": self.markov.to_json(), "xz": self.xz, "zstd": self.zstd, "bytes": self.compressed}


@dataclass(frozen=True)
class EvaluationResult:
    """Held-out bits/byte of one checkpoint on one set of windows, and how they were made.

    data / anchor_train: the corpus name or file list as the user gave it. split: "eval", "all",
    or "regions" when ``regions`` (DNA ``chr:start-end``) chose the bytes. bytes_per_chunk: one
    value per stage, outermost first. anchor_train and anchors are None with ``anchors=False``.
    """

    checkpoint: str
    model_class: str
    data: str | list[str]
    regions: list[str]
    split: str
    seq_len: int
    windows: int
    bits_per_byte: float
    predicted_bytes: int
    bytes_per_chunk: list[float]
    seconds: float
    anchor_train: str | list[str] | None = None
    anchors: AnchorNumbers | None = None
    bytes_used: list[UsedSpan] = field(default_factory=list)  # which bytes of which record were read
    window_bpb: list[float] = field(default_factory=list)  # each window's bits/byte; their mean is the total

    def interval(self) -> Interval | None:
        """95% bootstrap interval of bits/byte over the windows (`intervals`); None below 2 windows."""
        return bootstrap_mean(self.window_bpb) if len(self.window_bpb) >= 2 else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "checkpoint": self.checkpoint, "model_class": self.model_class, "data": self.data,
            "regions": self.regions, "split": self.split, "seq_len": self.seq_len, "windows": self.windows,
            "bits_per_byte": self.bits_per_byte, "predicted_bytes": self.predicted_bytes,
            "bytes_per_chunk": self.bytes_per_chunk, "seconds": self.seconds,
            "bytes_used": [s.to_json() for s in self.bytes_used],
        }
        interval = self.interval()
        if interval is not None:
            out["bits_per_byte_interval"] = interval.to_json()
        if self.anchors is not None:
            out["anchor_train"] = self.anchor_train
            out["anchors"] = self.anchors.to_json()
        return out


_SPLIT_WORDS = {"all": "all (every byte of the data)",
                "eval": "eval (the held-out split of the training corpus)",
                "regions": "regions (every byte of each --region)"}


def format_table(r: EvaluationResult) -> str:
    """The result as a small aligned table for the terminal."""
    rows = [("checkpoint", r.checkpoint), ("model", r.model_class),
            ("split", _SPLIT_WORDS.get(r.split, r.split)),
            ("held-out bytes", f"{r.predicted_bytes:,} in {r.windows} windows of {r.seq_len + 1}")]
    rows += [("bytes used" if i == 0 else "", line) for i, line in enumerate(describe(r.bytes_used))]
    rows.append(("bits/byte", f"{r.bits_per_byte:.4f}"))
    interval = r.interval()
    if interval is not None:
        rows.append(("95% interval (windows)", f"{interval.low:.4f} - {interval.high:.4f}"))
    for s, c in enumerate(r.bytes_per_chunk):
        rows.append((f"bytes/chunk stage {s}", f"{c:.2f}"))
    if r.anchors is not None:
        m = r.anchors.markov
        rows += [(f"Markov order {m.best_order} (best of 0..{len(m.bpb_by_order) - 1})", f"{m.best_bpb:.4f}"),
                 ("xz -9e", f"{r.anchors.xz:.4f}"), ("zstd -19", f"{r.anchors.zstd:.4f}")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
