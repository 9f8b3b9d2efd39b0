"""End to end: `python -m pipelines browse` serves the page; headless Chromium (Playwright) loads it.

Driven through Debian's ``chromium`` (tests/app/browser_server.py); without it the test skips and
says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hnet_bio.checkpoint import save_pretrained
from hnet_bio.config import HNetConfig
from hnet_bio.lm import HNetLM
from tests.app.browser_server import IDLE, browse_server, chromium
from tests.paths import CONFIGS, DATA

ECOLI = DATA / "ecoli_MG1655_20kb.fa"
TRACES = ("() => [...document.querySelectorAll('.js-plotly-plot')].flatMap("
          "g => g._fullData.map(t => [t.name, t.y ? t.y.length : 0]))")


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
    args = ["--checkpoint", str(ckpt), "--data", str(ECOLI), "--data-root", str(ECOLI.parent)]
    with browse_server(args, tmp_path) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(server.url, timeout=120_000)
        page.wait_for_selector(IDLE, timeout=180_000)
        page.wait_for_selector(".hnet-seq", timeout=60_000)
        assert "ecoli_MG1655:1-2,000" in page.inner_text('[data-testid="stMain"]')
        seq_text = page.inner_text(".hnet-seq")
        assert ECOLI.read_text().splitlines()[1][:60] in seq_text.replace(" ", "").replace("\n", "")
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        # 2,000 bases a screen: the per-bin summary (100 bins of 20), not one tick per base
        traces = page.evaluate(TRACES)
        assert ["stage 0 p (mean per 20-base bin)", 100] in traces, traces
        assert not any(name == "stage 0 boundaries" for name, _ in traces)
        page.screenshot(path=str(tmp_path / "dna-view.png"), full_page=True)
        # zoomed in (400 bases a screen): base by base, with the legend of the base colours
        box = page.get_by_label("Bases per screen (over 400: a per-bin summary)")
        box.fill("400")
        box.press("Enter")
        page.wait_for_selector("text=ecoli_MG1655:1-400 of", timeout=60_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        traces = page.evaluate(TRACES)
        assert ["stage 0 p", 400] in traces and ["base A", 1] in traces, traces
        assert page.locator(".legendtext", has_text="base other (N, IUPAC)").count() == 1
        # the path field: outside the data root refused, a missing file inside it named
        path_box = page.get_by_label("File (FASTA/GenBank/GFF3/WAV/FLAC, or dna-sample)")
        for typed, said in (("/etc/passwd", "/etc/passwd: outside the data root of this server"),
                            (str(ECOLI.parent / "does-not-exist.fa"), "does-not-exist.fa: no such file")):
            path_box.fill(typed)
            path_box.press("Enter")
            # (the page already holds an info alert, "no CDS annotations": wait for the error itself)
            error = page.wait_for_selector(f'[data-testid="stAlert"]:has-text("{typed}")', timeout=60_000)
            page.wait_for_selector(IDLE, timeout=60_000)
            assert said in error.inner_text()
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator(".hnet-seq").count() == 0  # the view of the bad input is not drawn
        page.screenshot(path=str(tmp_path / "bad-input.png"), full_page=True)
        browser.close()
    assert (tmp_path / "dna-view.png").stat().st_size > 10_000
    assert f"http://localhost:{server.port}" in server.output
