"""Load: 8 sessions at once page through a 1 Mb sequence on one server.

What can go wrong when sessions share a server is shared state: models (`st.cache_resource`), file
reads (`st.cache_data`) and the result LRU are process-wide, keyed by what identifies a result, and
a wrong key would show one session another's page. So every page each session reaches is checked
against independent truth: its position line, its bases against the file, and its stage-0 cuts
against a direct forward of the model on that page with the same left context (boundary
decisions from `LMOutput.stages[0].boundary_mask`).

Three drivers. In the default suite: 8 AppTest sessions taking turns on this process's caches
(AppTest runs cannot overlap), and 8 threads asking the app's shared layer for the same pages at
the same instant, as a server's sessions do. Marked `slow`: 8 headless Chromium sessions against a
real `hnet-bio browse --data-root` server on loopback for 60 s, whose peak resident memory (VmHWM
of the Streamlit process) is recorded and bounded.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import torch

from app.compute import CONTEXT
from hnet_bio.checkpoint import load_pretrained, save_pretrained
from hnet_bio.config import HNetConfig
from hnet_bio.lm import HNetLM
from tests.app.browser_server import IDLE, browse_server, chromium, memory_kb
from tests.paths import CONFIGS, ROOT

SESSIONS = 8
LENGTH = 1_000_000
WINDOW = 2000  # the default bases per screen
PEAK_RSS_LIMIT_MB = 1500
PROBLEMS = ('[data-testid="stException"], [data-testid="stAlertContentError"], '
            '[data-testid="stAlertContentWarning"]')
CUTS = ("() => [...document.querySelectorAll('.hnet-seq span[style^=\"background\"]')]"
        ".flatMap((e, i) => e.style.borderLeftStyle === 'solid' ? [i] : [])")


SPAN = re.compile(r'<span style="background:#[0-9a-f]{6};(border-left:[^;"]*;)?">([A-Z])</span>')


@pytest.fixture(scope="module")
def megabase(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A 1 Mb FASTA of seeded random bases in its own folder (the data root), and its bases."""
    root = tmp_path_factory.mktemp("megabase")
    seq = np.frombuffer(b"ACGT", dtype=np.uint8)[np.random.default_rng(0).integers(0, 4, LENGTH)]
    lines = [seq[i : i + 80].tobytes().decode() for i in range(0, LENGTH, 80)]
    (root / "big.fa").write_text(">big\n" + "\n".join(lines) + "\n")
    return root / "big.fa", seq


def stretch(index: int) -> int:
    """Where session ``index`` starts (0-based): its own eighth, not aligned to screens."""
    return index * (LENGTH // SESSIONS) + 1000 * index


class Truth:
    """Stage-0 cuts of a page by a direct forward of the model (the page plus `CONTEXT` bytes
    before it, as the browser analyses a screen), and probabilities to spot near-ties."""

    def __init__(self, ckpt: Path, seq: np.ndarray) -> None:
        self.model, _ = load_pretrained(ckpt)
        self.model.eval()
        self.seq = seq

    def cuts(self, start: int) -> tuple[set[int], set[int]]:
        """(cut offsets within the page, offsets whose probability is within 1e-4 of 0.5)."""
        lo = max(0, start - CONTEXT)
        piece = torch.from_numpy(self.seq[lo : start + WINDOW].astype(np.int64))[None]
        with torch.inference_mode():
            stage = self.model(piece).stages[0]
        mask = stage.boundary_mask[0, start - lo :].numpy()
        prob = stage.boundary_prob[0, start - lo :].numpy()
        return set(np.flatnonzero(mask).tolist()), set(np.flatnonzero(np.abs(prob - 0.5) < 1e-4).tolist())


class Start:
    """The paging phase starts for all sessions at once, when the last has loaded its first page
    (loading 8 pages in one Chromium on a busy 2-core machine took over a minute), and lasts
    ``seconds``; a barrier that also runs on Python 3.10 (asyncio.Barrier is 3.11+)."""

    def __init__(self, parties: int, seconds: float, on_start: object = None) -> None:
        self.waiting, self.parties, self.seconds = 0, parties, seconds
        self.event = asyncio.Event()
        self.deadline = 0.0
        self.on_start = on_start

    async def wait(self) -> None:
        self.waiting += 1
        if self.waiting == self.parties:
            self.deadline = time.monotonic() + self.seconds
            if callable(self.on_start):
                self.on_start()
            self.event.set()
        await self.event.wait()


async def session(browser: object, url: str, index: int, truth: Truth, start_line: Start,
                  min_pages: int) -> list[int]:
    """One browser session: load, jump to its own part of the sequence, then page on until the
    deadline (at least `min_pages` pages); every page checked against the truth. Returns the
    pages seen."""
    context = await browser.new_context(viewport={"width": 1300, "height": 1400})  # type: ignore[attr-defined]
    page = await context.new_page()
    page.set_default_timeout(240_000)
    t0 = time.monotonic()
    await page.goto(url)
    await page.wait_for_selector(IDLE)
    await page.wait_for_selector(".hnet-seq")
    print(f"session {index}: first page in {time.monotonic() - t0:.1f} s", flush=True)
    start = stretch(index)
    box = page.get_by_label("jump to base (1-based genome coordinate)")
    await box.fill(str(start + 1))
    await box.press("Enter")
    await page.wait_for_selector(IDLE)
    await page.get_by_role("button", name="jump", exact=True).click()
    seen: list[int] = []
    while True:
        await page.get_by_text(f"showing big:{start + 1:,}-{start + WINDOW:,} of big:1-1,000,000").wait_for()
        await page.wait_for_selector(IDLE)
        text = await page.inner_text(".hnet-seq")
        bases = "".join(c for c in text if c in "ACGT")
        assert bases == truth.seq[start : start + WINDOW].tobytes().decode(), (index, start)
        shown = set(await page.evaluate(CUTS))
        expected, ties = truth.cuts(start)
        assert not (shown ^ expected) - ties, (index, start, sorted(shown ^ expected)[:10])
        assert not await page.locator(PROBLEMS).count()
        seen.append(start)
        if len(seen) == 1:
            await start_line.wait()
        if len(seen) >= min_pages and time.monotonic() > start_line.deadline:
            break
        await page.get_by_role("button", name="next ▶").click()
        start += WINDOW
    await context.close()
    return seen


async def drive(exe: str, url: str, truth: Truth, start_line: Start, min_pages: int) -> list[list[int]]:
    from playwright.async_api import async_playwright  # why: the dev extra; the test skips without it

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            return list(await asyncio.gather(*(session(browser, url, i, truth, start_line, min_pages)
                                               for i in range(SESSIONS))))
        finally:
            await browser.close()


@pytest.mark.slow
def test_eight_browsers_page_a_megabase_on_a_real_server(megabase: tuple[Path, np.ndarray],
                                                         tmp_path: Path) -> None:
    seconds, min_pages = 60.0, 3
    pytest.importorskip("playwright.async_api", reason="playwright is not installed (dev extra)")
    exe = chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine: install Debian's package (apt-get install -y chromium, "
                    "as root); Playwright cannot download its own browser here")
    fasta, seq = megabase
    root = fasta.parent
    torch.manual_seed(0)
    ckpt = tmp_path / "tiny"
    save_pretrained(HNetLM(HNetConfig.from_json(CONFIGS / "tiny-1stage.json")), ckpt,
                    {"modality": "dna", "byte_convention": "ascii-upper"})
    truth = Truth(ckpt, seq)
    args = ["--checkpoint", str(ckpt), "--data", str(root / "big.fa"), "--data-root", str(root)]
    with browse_server(args, tmp_path) as server:
        pid = server.streamlit_pid()
        loaded: list[float] = []
        start_line = Start(SESSIONS, seconds, lambda: loaded.append(memory_kb(pid, "VmRSS") / 1024))
        began = time.monotonic()
        pages = asyncio.run(drive(exe, server.url, truth, start_line, min_pages))
        took = time.monotonic() - began
        peak_mb, now_mb = memory_kb(pid, "VmHWM") / 1024, memory_kb(pid, "VmRSS") / 1024
    total = sum(map(len, pages))
    print(f"\n{SESSIONS} sessions, {total} pages checked ({min(map(len, pages))}-{max(map(len, pages))} "
          f"per session) in {took:.1f} s, {seconds:.0f} s of them paging; server RSS when all had "
          f"loaded {loaded[0]:.0f} MB, at the end {now_mb:.0f} MB, peak {peak_mb:.0f} MB")
    assert all(len(p) >= min_pages for p in pages)
    assert len({p for ps in pages for p in ps}) == total  # every session on its own pages
    assert peak_mb < PEAK_RSS_LIMIT_MB
    assert "Traceback" not in server.output, server.output[-2000:]


def _page_cuts(html: str) -> tuple[str, list[int]]:
    """(the bases, the offsets drawn with a cut) of the sequence view's HTML."""
    spans = SPAN.findall(html)
    return "".join(b for _, b in spans), [i for i, (cut, _) in enumerate(spans) if cut]


def test_eight_sessions_share_the_caches_without_mix_ups(
    megabase: tuple[Path, np.ndarray], tiny_checkpoints: Mapping[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight AppTest sessions, each with its own session state, take turns on the process-wide
    caches: all load, then all jump to their own eighth, then all page on. AppTest runs cannot
    overlap in one process (each run installs its mock `Runtime._instance` and sets it back to None
    at the end, so a second run in another thread loses its runtime mid-script), which is why the
    turns are interleaved rather than threaded; overlap is the next test's, and the Chromium one's."""
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.element_tree import Element

    from app.compute import result_cache

    fasta, seq = megabase
    ckpt = tiny_checkpoints["dna"]
    monkeypatch.setenv("HNET_BIO_BROWSE_CHECKPOINT", str(ckpt))
    monkeypatch.setenv("HNET_BIO_BROWSE_DATA", str(fasta))
    monkeypatch.setenv("HNET_BIO_BROWSE_DATA_ROOT", str(fasta.parent))
    monkeypatch.delenv("HNET_BIO_BROWSE_REGION", raising=False)
    monkeypatch.delenv("HNET_BIO_BROWSE_POSITION", raising=False)
    truth = Truth(ckpt, seq)
    computed = result_cache().computed
    apps = [AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300) for _ in range(SESSIONS)]
    starts = [stretch(i) for i in range(SESSIONS)]
    for at in apps:
        at.run()
    for at, start in zip(apps, starts, strict=True):
        at.number_input(key="jump").set_value(start + 1)
        at.button(key="go").click().run()  # the jump box and the button in one rerun
    pages: list[tuple[int, int, str, str, list[int]]] = []

    def look(index: int) -> None:
        at = apps[index]
        assert not at.error and not at.exception, [e.value for e in [*at.error, *at.exception]]
        pos = next(m.value for m in at.markdown if "showing" in m.value)
        html = next(h.value for h in at.get("html") if isinstance(h, Element) and "hnet-seq" in h.value)
        pages.append((index, starts[index], pos, *_page_cuts(html)))

    for index in range(SESSIONS):
        look(index)
    for index, at in enumerate(apps):
        at.button(key="next").click().run()
        starts[index] += WINDOW
    for index in range(SESSIONS):
        look(index)
    assert len(pages) == 2 * SESSIONS
    for index, start, pos, bases, cuts in pages:
        assert f"big:{start + 1:,}-{start + WINDOW:,} of big:1-1,000,000" in pos, (index, pos)
        assert bases == seq[start : start + WINDOW].tobytes().decode(), (index, start)
        expected, ties = truth.cuts(start)
        assert not (set(cuts) ^ expected) - ties, (index, start)
    # one model run per distinct page, however many sessions asked: the start page (all 8; session
    # 0 jumps to it), each jump target and the page after it
    assert result_cache().computed - computed == 2 * SESSIONS


def test_eight_threads_at_once_compute_each_page_once(
    megabase: tuple[Path, np.ndarray], tiny_checkpoints: Mapping[str, Path]
) -> None:
    """The app's shared layer under real overlap: 8 threads (as a server runs 8 sessions' scripts)
    load the checkpoint and ask for the same page at the same instant, then for their own two
    pages. One model object, one computation per distinct page, every page's cuts those of a
    direct forward of the model."""
    from app.compute import load_checkpoint, page_analysis, result_cache

    fasta, seq = megabase
    ckpt = tiny_checkpoints["dna"]
    truth = Truth(ckpt, seq)
    source_key = f"threads:{fasta}"  # not the app's digest: these pages are this test's own
    computed = result_cache().computed
    gate = threading.Barrier(SESSIONS)
    models: list[int] = []
    got: list[tuple[int, int, list[int]]] = []
    problems: list[str] = []

    def session(index: int) -> None:
        try:
            gate.wait(timeout=120)
            loaded = load_checkpoint(str(ckpt))
            models.append(id(loaded.model))
            gate.wait(timeout=120)
            for start in (0, stretch(index) + 500, stretch(index) + 500 + WINDOW):
                a = page_analysis(loaded, seq, source_key, start, WINDOW)
                got.append((index, start, np.flatnonzero(a.boundary[0]).tolist()))
        except Exception as exc:  # reported by the main thread, with the session
            problems.append(f"session {index}: {exc!r}")

    threads = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not problems, problems
    assert len(set(models)) == 1 and len(models) == SESSIONS
    assert len(got) == 3 * SESSIONS
    for index, start, cuts in got:
        expected, ties = truth.cuts(start)
        assert not (set(cuts) ^ expected) - ties, (index, start)
    assert result_cache().computed - computed == 1 + 2 * SESSIONS
