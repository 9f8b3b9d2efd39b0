"""Pick intra-op threads for this machine, and say so when the machine is already busy.

On the project's 2-core CPU box, two processes of two OpenMP threads each make every thread spin
and wait for a core: a training step ran several times slower than with one thread per process.
`choose_threads` looks at the 1-minute load average (runnable processes) against the cores this
process may use and takes what is left, at least one; `oversubscription_warning` returns a line to
print when the requested threads plus the load exceed the cores.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> float:
    """1-minute load average (0.0 where the OS has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def choose_threads(requested: int | None = None) -> int:
    """`requested` if given, else the cores not already busy (rounded down, at least 1)."""
    if requested:
        return requested
    return max(1, usable_cores() - int(load_average()))


def oversubscription_warning(threads: int) -> str | None:
    """A warning when `threads` plus the current load exceed the usable cores, else None."""
    cores, load = usable_cores(), load_average()
    if threads + load <= cores + 0.5:
        return None
    return (
        f"warning: {threads} thread(s) requested on {cores} core(s) with load average {load:.1f}; "
        "the machine is oversubscribed, so timings are slow and noisy (fewer threads may be faster)"
    )
