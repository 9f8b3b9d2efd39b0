"""One writer per run directory: a lock file that names its holder, and a stale one taken over.

Two ``pretrain --resume RUN`` at once, or a ``pretrain --out RUN`` into a directory another run is
writing, would interleave checkpoints, metrics and rotations. The first process holds
``RUN/.hnet-bio.lock``: an exclusive ``flock`` on it, and in it who holds it (pid, host, since
when, the command), so the second stops with one line naming the first.

Why ``flock`` and not only the pid in the file: the kernel drops the lock when its holder dies,
however it dies (SIGKILL, OOM, a power cut of the process), so a lock file left by a killed run
is recognised as stale without guessing from pids, which are reused. Why the pid/host text too:
to name the holder, and for file systems where ``flock`` does not reach other hosts (some NFS
set-ups), where a lock written on another host is respected until its owner deletes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pipelines.errors import UsageError
from pipelines.runs.run_dir import RunDir


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a run's lock, as its lock file says."""

    pid: int
    host: str
    since: str  # UTC, ISO 8601
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host}, since {self.since} ({self.command})"

    @classmethod
    def of_this_process(cls) -> LockHolder:
        return cls(pid=os.getpid(), host=socket.gethostname(),
                   since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   command=" ".join(["hnet-bio", *sys.argv[1:]])[:200])


def _read_holder(fh: IO[str]) -> LockHolder | None:
    fh.seek(0)
    try:
        data = json.loads(fh.read())
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["since"]), str(data["command"]))
    except (ValueError, KeyError, TypeError):
        return None  # empty (just created) or torn: nobody is named


def _busy(path: Path, holder: LockHolder | None) -> UsageError:
    who = holder.describe() if holder is not None else "another process"
    return UsageError(f"run directory {path.parent} is being written by {who}; wait for it to finish, "
                      "or stop it, before writing this run again")


def current_holder(run_dir: str | os.PathLike[str]) -> LockHolder | None:
    """The live holder of ``run_dir``'s lock, or None (no lock file, or a stale one), without
    taking it: for checks made before anything is written."""
    path = Path(run_dir) / RunDir.LOCK
    try:
        fh = open(path)  # noqa: SIM115 (closed below, after the probe)
    except OSError:
        return None
    with fh:
        holder = _read_holder(fh)
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return holder or LockHolder(0, "?", "?", "?")
        fcntl.flock(fh, fcntl.LOCK_UN)
    if holder is not None and holder.host != socket.gethostname():
        return holder  # flock may not reach across hosts: respect it
    return None


class RunLock:
    """The lock of one run directory, taken by `acquire` (which makes the directory) and given back
    by `release` (a no-op if never taken). ``enabled=False`` (ranks other than 0) does nothing."""

    def __init__(self, run_dir: str | os.PathLike[str], enabled: bool = True) -> None:
        self.path = Path(run_dir) / RunDir.LOCK
        self.enabled = enabled
        self._fh: IO[str] | None = None
        self.took_over: LockHolder | None = None  # the stale holder replaced, if any

    def acquire(self) -> None:
        """Take the lock or raise UsageError naming its holder."""
        if not self.enabled or self._fh is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fh = open(self.path, "a+")  # noqa: SIM115 (held until release)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fh)
                fh.close()
                raise _busy(self.path, holder) from None
            # The file may have been released and unlinked between our open and our flock: then
            # we hold a lock on a name nobody else will look at. Try again on the current file.
            try:
                same = os.fstat(fh.fileno()).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            fh.close()
        previous = _read_holder(fh)
        if previous is not None and previous.host != socket.gethostname():
            fh.close()
            raise UsageError(f"{_busy(self.path, previous)}; if that process is gone, delete {self.path}")
        self.took_over = previous
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(LockHolder.of_this_process().__dict__) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
        self._fh = fh

    def release(self) -> None:
        """Remove the lock file, then drop the lock (in that order: a waiting process that opened
        the old file sees it unlinked and retries on a fresh one)."""
        if self._fh is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
