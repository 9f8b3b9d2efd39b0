"""Pick intra-op threads for this machine, and say so when the machine is already busy.

On the project's 2-core CPU box, two processes of two OpenMP threads each make every thread spin
and wait for a core: a training step ran several times slower than with one thread per process.
`choose_threads` looks at the 1-minute load average (runnable processes) against the cores this
process may use and takes what is left, at least one; `oversubscription_warning` returns a line to
print when the requested threads plus the load exceed the cores.
"""

from __future__ import annotations

import os
import time


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


def _cpu_times() -> tuple[float, float] | None:
    """(idle, total) jiffies of all CPUs from /proc/stat, or None where there is no such file."""
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + (fields[4] if len(fields) > 4 else 0.0), sum(fields)


def idle_cores(sample_s: float = 0.25) -> float:
    """Cores idle right now, measured over `sample_s` seconds from /proc/stat.

    The 1-minute load average lags: just after a job of our own it still counts that job, and a
    machine that became busy a second ago looks idle. Where /proc/stat is missing, the load
    average stands in.
    """
    before = _cpu_times()
    if before is None:
        return max(0.0, usable_cores() - load_average())
    time.sleep(sample_s)
    after = _cpu_times()
    assert after is not None
    idle, total = after[0] - before[0], after[1] - before[1]
    cpus = os.cpu_count() or 1
    return min(float(usable_cores()), cpus * idle / total) if total > 0 else float(usable_cores())
