"""Graceful stop on SIGTERM/SIGUSR1/SIGINT: finish the step, write a checkpoint, exit cleanly.

Cluster schedulers (and `kill`) send SIGTERM before killing a job, and a user at a terminal
presses Ctrl-C (SIGINT). Instead of losing the work since the last periodic checkpoint, the loop
notices the flag after the current step, saves, writes the summary and returns, so
`--resume RUN_DIR` continues from exactly there. A second Ctrl-C raises KeyboardInterrupt at
once (a checkpoint being written is then abandoned, its temporary directory removed; the earlier
ones are intact), which is what a user pressing it twice wants.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)


class StopFlag:
    """Set by a signal handler; read by the training loop between steps."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first stop signal received
        self.interrupts = 0  # Ctrl-Cs received

    def __bool__(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str | None:
        return signal.Signals(self.signum).name if self.signum is not None else None


@contextmanager
def stop_on_signals(announce: bool = True) -> Iterator[StopFlag]:
    """Install handlers for the duration of a run (main thread only; elsewhere a no-op).

    announce: acknowledge a first Ctrl-C on stderr at once (the step may take a while to finish).
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            flag.interrupts += 1
            if flag.interrupts > 1:
                raise KeyboardInterrupt  # the second Ctrl-C: stop at once
        if flag.signum is None:
            flag.signum = signum
        if signum == signal.SIGINT and announce:
            print("\ninterrupted: finishing this step and writing a checkpoint "
                  "(press Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    # A SIGINT ignored on entry (`nohup`, a script's `cmd &`) stays ignored, as Python itself does.
    signals = [s for s in STOP_SIGNALS if not (s == signal.SIGINT and signal.getsignal(s) == signal.SIG_IGN)]
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def ignore_interrupts(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: a terminal's Ctrl-C reaches the whole process group; workers
    must keep serving batches so the main process can finish its step and checkpoint."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
