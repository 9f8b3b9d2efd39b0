"""End to end: `python -m pipelines browse` serves the page; headless Chromium (Playwright) loads it.

Playwright cannot download its own browser here, so this drives Debian's ``chromium``
(``apt-get install -y chromium``, as root; `.ci/run` does it). Without it the test skips and says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hnet_bio.checkpoint import save_pretrained
from hnet_bio.config import HNetConfig
from hnet_bio.lm import HNetLM
from tests.paths import CONFIGS, DATA, ROOT

ECOLI = DATA / "ecoli_MG1655_20kb.fa"
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


def test_real_server_in_headless_chromium(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    exe = chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine: install Debian's package (apt-get install -y chromium, "
                    "as root); Playwright cannot download its own browser here")
    torch.manual_seed(0)
    ckpt = tmp_path / "tiny"
    save_pretrained(HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json")), ckpt,
                    {"modality": "dna", "byte_convention": "ascii-upper"})
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines", "browse", "--checkpoint", str(ckpt),
                             "--data", str(ECOLI), "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        wait_for_port(port, proc)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"http://127.0.0.1:{port}", timeout=120_000)
            page.wait_for_selector(IDLE, timeout=180_000)
            page.wait_for_selector(".hnet-seq", timeout=60_000)
            assert "ecoli_MG1655:1-2,000" in page.inner_text('[data-testid="stMain"]')
            seq_text = page.inner_text(".hnet-seq")
            assert ECOLI.read_text().splitlines()[1][:60] in seq_text.replace(" ", "").replace("\n", "")
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            assert page.locator("text=boundary probability").count() >= 1  # the probability track
            traces = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].flatMap("
                                   "g => g._fullData.map(t => [t.name, t.y ? t.y.length : 0]))")
            assert ["stage 0 p", 2000] in traces, traces  # one probability per base on screen
            page.screenshot(path=str(tmp_path / "dna-view.png"), full_page=True)
            box = page.get_by_label("File (FASTA/GenBank/GFF3/WAV/FLAC, or dna-sample)")
            box.fill(str(tmp_path / "does-not-exist.fa"))
            box.press("Enter")
            # (the page already holds an info alert, "no CDS annotations": wait for the error itself)
            error = page.wait_for_selector('[data-testid="stAlert"]:has-text("does-not-exist.fa")',
                                           timeout=60_000)
            page.wait_for_selector(IDLE, timeout=60_000)
            assert "does-not-exist.fa: no such file" in error.inner_text()
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator(".hnet-seq").count() == 0  # the view of the bad input is not drawn
            page.screenshot(path=str(tmp_path / "bad-input.png"), full_page=True)
            browser.close()
        assert (tmp_path / "dna-view.png").stat().st_size > 10_000
    finally:
        proc.terminate()  # browse passes TERM on to the server
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: nothing outlives the test
            out, _ = proc.communicate(timeout=30)
    assert f"http://localhost:{port}" in out
