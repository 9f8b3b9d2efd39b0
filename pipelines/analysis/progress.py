"""A progress callback for `analyze`: bytes done and bytes/s on stderr.

Live ``\\r`` updates only on a terminal (a log file gets just the final line), at most twice a
second, so a progress bar never costs measurable time on a fast model.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from pipelines.units import human_bytes


class ProgressBar:
    """Callable as ``progress(done, total)``; ``close()`` writes the summary line."""

    def __init__(self, label: str = "analysis", stream: TextIO | None = None, interval: float = 0.5) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last = 0.0
        self.done = 0
        self.total = 0

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    @property
    def bytes_per_s(self) -> float:
        return self.done / max(self.seconds, 1e-9)

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = time.perf_counter()
        if self.live and (now - self.last >= self.interval or done >= total):
            self.last = now
            pct = 100.0 * done / max(total, 1)
            self.stream.write(f"\r{self.label}: {human_bytes(done)} / {human_bytes(total)} ({pct:.0f}%), "
                              f"{self.bytes_per_s:,.0f} bytes/s")
            self.stream.flush()

    def close(self) -> None:
        lead = "\r" if self.live else ""
        self.stream.write(f"{lead}{self.label}: {self.done:,} bytes in {self.seconds:.1f} s, "
                          f"{self.bytes_per_s:,.0f} bytes/s\n")
        self.stream.flush()
