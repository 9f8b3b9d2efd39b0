"""How long a model's chunks are, per stage, against the length its ratio loss aims at.

One `StageSummary` per stage over all analysed sequences; `hnet-bio boundaries` prints them
(`summary_text`) and the browser shows them per screen, in bytes for DNA and in milliseconds for
audio (a byte is one sample at the checkpoint's rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.analysis.result import Analysis


@dataclass(frozen=True)
class StageSummary:
    """Chunks of one stage over all sequences: count, mean and median bytes per chunk, and the
    training target (the product of the target ratios down to this stage)."""

    stage: int
    chunks: int
    mean_bytes: float
    median_bytes: float
    target_bytes: float
    sample_rate: int | None  # audio: bytes per second; None for DNA

    def line(self) -> str:
        """One line for the job's log: bytes for DNA, milliseconds for audio."""
        if self.sample_rate:
            ms = 1000.0 / self.sample_rate
            return (f"stage {self.stage}: {self.chunks:,} chunks, mean {self.mean_bytes * ms:.2f} ms, "
                    f"median {self.median_bytes * ms:.2f} ms per chunk "
                    f"(target {self.target_bytes * ms:.2f} ms)")
        return (f"stage {self.stage}: {self.chunks:,} chunks, mean {self.mean_bytes:.2f}, "
                f"median {self.median_bytes:.1f} bytes per chunk (target {self.target_bytes:.1f})")


def summarize(analyses: list[Analysis], ratios: list[float], sample_rate: int | None) -> list[StageSummary]:
    """Per stage over all sequences: chunks, mean and median bytes per chunk, the training target."""
    rows = []
    for s in range(len(ratios)):
        lengths = np.concatenate([np.subtract(*a.chunk_bounds(s)[::-1]) for a in analyses])
        total = sum(a.length for a in analyses)
        rows.append(StageSummary(
            stage=s, chunks=int(lengths.size), mean_bytes=total / max(lengths.size, 1),
            median_bytes=float(np.median(lengths)) if lengths.size else 0.0,
            target_bytes=float(np.prod(ratios[: s + 1])), sample_rate=sample_rate))
    return rows


def summary_text(summary: list[StageSummary]) -> str:
    """The summary as the job prints it, one line per stage."""
    return "\n".join(row.line() for row in summary) + "\n"
