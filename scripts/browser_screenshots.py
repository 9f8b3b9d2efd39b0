"""Screenshots of the boundary browser for docs/browser.md, taken from the real app, and the time a
10 kb DNA window takes to render (model run, then from the cache).

    PYTHONPATH=. python scripts/browser_screenshots.py --dna-checkpoint CKPT --audio-checkpoint CKPT \
        --genbank data/.../test.gbk.gz --region NZ_AHMY02000074.1:10001-30000 --wav data/.../demo-congrats.wav

Needs Playwright and Debian's chromium (/usr/bin/chromium). Writes docs/img/browser-*.png.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(args: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines", "browse", *args, "--port", str(port)],
                            cwd=ROOT, env=env, start_new_session=True)
    for _ in range(240):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("server did not start")


@contextlib.contextmanager
def opened(browser, args: list[str], height: int, ready: str) -> Iterator:
    """A page of a fresh `hnet-bio browse` server (``args``), loaded until ``ready`` shows and the
    first script run has finished; the server is stopped on leaving."""
    proc, port = serve(args)
    try:
        page = browser.new_page(viewport={"width": 1500, "height": height})
        page.goto(f"http://127.0.0.1:{port}", timeout=600_000)
        page.wait_for_selector(ready, timeout=600_000)
        settle(page)
        yield page
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()


def settle(page, timeout: float = 600_000) -> float:
    """Seconds until the script run that the last action started has finished."""
    t0 = time.monotonic()
    page.wait_for_timeout(300)  # let the rerun start
    page.wait_for_selector(IDLE, timeout=timeout)
    return time.monotonic() - t0 + 0.3


def plots(page, n: int) -> None:
    """Wait until ``n`` plotly figures have drawn (they render after the script run ends)."""
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}",
                           timeout=120_000)
    page.wait_for_timeout(1500)


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label)
    box.fill(str(value))
    box.press("Enter")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dna-checkpoint", required=True)
    p.add_argument("--audio-checkpoint", required=True)
    p.add_argument("--genbank", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--wav", required=True)
    p.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    window_label = "Bases per screen (over 400: a per-bin summary)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        # 1. DNA on an annotated genome: tracks, sequence, statistics, metaplot
        dna = ["--checkpoint", args.dna_checkpoint, "--data", args.genbank, "--region", args.region]
        with opened(browser, dna, 2300, ".hnet-seq") as page:
            plots(page, 3)
            page.screenshot(path=str(out / "browser-dna.png"))
            # zoomed in: 300 bases a screen, drawn base by base (with the legend of the base colours)
            set_number(page, window_label, 300)
            settle(page)
            plots(page, 2)
            page.screenshot(path=str(out / "browser-dna-detail.png"), clip={"x": 0, "y": 0, "width": 1500,
                                                                             "height": 1250})
            set_number(page, window_label, 2000)
            settle(page)
            page.get_by_text("whole input", exact=True).click()
            settle(page)
            page.get_by_text("analyse the whole input").click()
            print(f"whole input analysed and drawn in {settle(page):.1f} s", flush=True)
            plots(page, 3)
            page.locator('[data-testid="stPlotlyChart"]').last.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "browser-dna-stats.png"))
            page.get_by_text("on screen", exact=True).click()
            settle(page)
            # 10 kb window: first render runs the model, the second (back from the next page) is cached
            set_number(page, window_label, 10_000)
            cold = settle(page)
            page.get_by_role("button", name="next ▶").click()
            settle(page)
            page.get_by_role("button", name="◀ previous").click()
            warm = settle(page)
            print(f"10 kb DNA window: {cold:.1f} s first render (model run), {warm:.1f} s from the cache",
                  flush=True)
        # 2. no arguments: the shipped DNA model on the embedded genome
        with opened(browser, [], 1300, ".hnet-seq") as page:
            plots(page, 2)
            page.screenshot(path=str(out / "browser-default.png"))
        # 3. audio
        audio = ["--checkpoint", args.audio_checkpoint, "--data", args.wav]
        with opened(browser, audio, 1700, '[data-testid="stAudio"]') as page:  # one second a screen
            plots(page, 2)
            page.screenshot(path=str(out / "browser-audio.png"))
        browser.close()


if __name__ == "__main__":
    main()
