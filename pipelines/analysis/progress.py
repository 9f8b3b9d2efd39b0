"""Progress of a long job on stderr: bytes done, bytes/s and the time left.

On a terminal one line is rewritten in place (``\\r``) at most twice a second. Anywhere else (a log
file, a pipe, a batch system's output) a plain line is written every ``plain_interval`` seconds
(default 10: a job in a log shows it is alive and how long it has left, without filling the log),
so a five-minute job writes about thirty lines. ``close()`` writes the summary line either way.
Every job that can run for more than a few seconds takes one (`evaluate`, `boundaries`, `embed`,
`classify`, `generate`); ``-q``/``--quiet`` passes none.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from pipelines.units import human_bytes

PLAIN_INTERVAL = 10.0  # seconds between plain lines when stderr is not a terminal


def eta_text(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``: the time left, as precise as it is useful."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class ProgressBar:
    """Callable as ``progress(done, total)`` (bytes); ``close()`` writes the summary line."""

    def __init__(self, label: str = "analysis", stream: TextIO | None = None, interval: float = 0.5,
                 plain_interval: float = PLAIN_INTERVAL,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if self.live else plain_interval
        self.clock = clock
        self.start = clock()
        self.last = self.start
        self.done = 0
        self.total = 0

    @property
    def seconds(self) -> float:
        return self.clock() - self.start

    @property
    def bytes_per_s(self) -> float:
        return self.done / max(self.seconds, 1e-9)

    def line(self) -> str:
        """``label: 1.2 MB / 5.0 MB (24%), 12,345 bytes/s, 3m05s left``."""
        pct = 100.0 * self.done / max(self.total, 1)
        rate = self.bytes_per_s
        left = eta_text((self.total - self.done) / rate) if rate > 0 else "?"
        return (f"{self.label}: {human_bytes(self.done)} / {human_bytes(self.total)} ({pct:.0f}%), "
                f"{rate:,.0f} bytes/s, {left} left")

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = self.clock()
        if now - self.last < self.interval or done >= total:
            return  # the last update is close()'s summary
        self.last = now
        if self.live:
            self.stream.write("\r" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        lead = "\r\033[K" if self.live else ""
        self.stream.write(f"{lead}{self.label}: {self.done:,} bytes in {self.seconds:.1f} s, "
                          f"{self.bytes_per_s:,.0f} bytes/s\n")
        self.stream.flush()


def maybe_bar(label: str, log: TextIO | None) -> ProgressBar | None:
    """A bar on ``log``, or None when the job is quiet (``log`` None)."""
    return None if log is None else ProgressBar(label, log)
