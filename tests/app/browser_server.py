"""A real `python -m pipelines browse` server for the end-to-end tests, and the Chromium to load it.

Playwright cannot download its own browser here, so the tests drive Debian's ``chromium``
(``apt-get install -y chromium``, as root; `.ci/run` does it) and skip, saying why, without it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.paths import ROOT

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"browse exited early with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"nothing listened on port {port} within {timeout:.0f} s")


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc: the Streamlit server under `browse`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def memory_kb(pid: int, field: str) -> int:
    """A /proc/PID/status memory field in kB: VmRSS (now) or VmHWM (peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    output: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def streamlit_pid(self) -> int:
        (pid,) = children(self.proc.pid)
        return pid


@contextlib.contextmanager
def browse_server(args: list[str], cwd: Path) -> Iterator[Server]:
    """`python -m pipelines browse ARGS --port P` in its own session; stopped (TERM, then KILL) after."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines", "browse", *args, "--port", str(port)],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    server = Server(port, proc)
    try:
        wait_for_port(port, proc)
        yield server
    finally:
        proc.terminate()  # browse passes TERM on to the server
        try:
            server.output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: nothing outlives the test
            server.output, _ = proc.communicate(timeout=30)
