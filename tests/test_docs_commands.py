"""Every command block of README.md and docs/*.md is run, so the documentation cannot drift from
the CLI again (issue 20: the README's resume example was refused by the schedule rule).

The convention (written for doc authors in docs/reliability.md, "Documented commands run"):

- A fenced block whose info string is ``bash``, ``sh``, ``shell`` or ``console`` is a *command
  block*. In ``console`` blocks the commands are the lines starting with ``$ ``; in the others
  every line that is not a comment (``\\`` continues a line; a trailing ``# ...`` is a comment).
  Unlabelled blocks are output (transcripts), not run.
- It is run unless the line just before its opening fence is an HTML comment:
  ``<!-- not-run: REASON -->`` (placeholders, another machine's paths, network, a GPU) or
  ``<!-- slow: REASON -->`` (run only with ``-m slow``). A marker without a reason fails.
- The blocks of one page run in order, in one scratch directory holding links to the
  repository's ``configs/``, ``tests/`` and ``data/`` (so a later block can use what an earlier
  one wrote, as a reader would). ``hnet-bio ARGS`` runs in this process (``pipelines.cli.main``);
  each command must exit 0. Any other program must be marked or skipped below.
- Long commands run at reduced sizes: `SUBSTITUTIONS` lists, per page, each text replaced and why.
  `SKIPPED` lists single commands of a run block that cannot run here, and why.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND_LANGS = {"bash", "sh", "shell", "console"}
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^<!--\s*(?P<kind>not-run|slow)\s*(?::\s*(?P<reason>.*?))?\s*-->\s*$")

# page -> [(text in a command, what it becomes, why)], applied in order to every command of the page.
SUBSTITUTIONS: dict[str, list[tuple[str, str, str]]] = {
    "README.md": [
        ("--max-new-bytes 300", "--max-new-bytes 24", "fewer bytes: the same code path"),
        ("--max-new-bytes 500", "--max-new-bytes 24", "fewer bytes: the same code path"),
        ("configs/pretrain-dna-small.yaml", "configs/pretrain-dna-tiny.yaml",
         "the tiny model: the same recipe format, seconds not minutes"),
        ("--train.max_steps 200", "--train.max_steps 10",
         "10 steps: its decay began at step 8, as at 160 of 200"),
        ("--train.max_steps 400", "--train.max_steps 14",
         "4 more, after the decay began (main's README, without --train.extend, was refused)"),
        ("genome.fa:NC_000913:1-200", "tests/data/ecoli_MG1655_20kb.fa:ecoli_MG1655:1-200",
         "the README's placeholder genome: an E. coli excerpt in the repository"),
        ("--data my_genome.fa", "--data tests/data/saureus_N315_20kb.fa",
         "a genome the user has: a 20 kb excerpt"),
        ("hnet-bio data info dna-bacteria", "hnet-bio data info dna-sample",
         "the same command on the embedded genome (dna-bacteria needs the 52 MB corpus unpacked)"),
        ("--fasta tests/data/ecoli_MG1655_20kb.fa --out ecoli.npz",
         "--fasta tests/data/ecoli_MG1655_20kb.fa --region ecoli_MG1655:1-4000 --out ecoli.npz",
         "4 kb of the excerpt: the same code path"),
    ],
    "models.md": [
        ("--max-new-bytes 200", "--max-new-bytes 24", "fewer bytes: the same code path"),
    ],
}

# (page, start of the command, why it is not run) for single commands inside blocks that run.
_AUDIO_PROMPT = "hnet-bio generate --checkpoint audio-speech-small --prompt-audio"
_PREFILL = ("prefilling its 3 s prompt (24,000 bytes) takes 13 s on 2 cores, past the default suite's "
            "budget; tests/pipelines/test_generate_cli.py generates audio")
SKIPPED: list[tuple[str, str, str]] = [
    ("README.md", _AUDIO_PROMPT, _PREFILL),
    ("models.md", _AUDIO_PROMPT, _PREFILL),
    ("README.md", "hnet-bio data fetch",
     "unpacks Debian packages into data/ (needs dpkg, writes outside the test)"),
    ("README.md", "torchrun ", "two processes: tests/pipelines/training/test_distributed.py runs DDP"),
    ("README.md", "hnet-bio compare ", "trains four models for minutes; docs/compare.md records its runs"),
    ("README.md", "hnet-bio classify ", "needs the unpacked dna-bacteria corpus and minutes; "
                                        "tests/pipelines/features covers classify"),
    ("README.md", "hnet-bio score ", "ref.fa and in.vcf.gz are placeholders (no VCF is committed); "
                                     "tests/pipelines/test_score_cli.py runs score on VCFs it writes"),
]


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    lang: str
    commands: tuple[str, ...]
    marker: str | None  # "not-run" or "slow"
    reason: str | None


def _commands(lines: list[str], lang: str) -> tuple[str, ...]:
    out: list[str] = []
    pending = ""
    for raw in lines:
        line = raw.rstrip()
        if lang == "console":
            if line.startswith("$ "):
                pending = line[2:]
            elif pending and pending.endswith("\\"):
                pending = pending[:-1].rstrip() + " " + line.strip()
            else:
                continue
        else:
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending = (pending[:-1].rstrip() + " " + line.strip()) if pending else line.strip()
        if pending.endswith("\\"):
            continue
        out.append(pending)
        pending = ""
    return tuple(out)


def blocks(page: Path) -> list[Block]:
    """The command blocks of a page, with their markers."""
    text = page.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(text):
        m = _FENCE.match(text[i])
        if not m:
            i += 1
            continue
        fence, lang = m["fence"], m["info"].strip().split(" ")[0].lower()
        end = next((j for j in range(i + 1, len(text)) if text[j].strip().startswith(fence)), len(text))
        if lang in COMMAND_LANGS:
            mark = _MARKER.match(text[i - 1].strip()) if i > 0 else None
            found.append(Block(page.name, i + 1, lang, _commands(text[i + 1:end], lang),
                               mark["kind"] if mark else None, mark["reason"] if mark else None))
        i = end + 1
    return found


def _strip_comment(command: str) -> str:
    """Drop a trailing ``# comment`` (outside quotes)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return shlex.join(list(lexer))


def substituted(page: str, command: str) -> str:
    for old, new, _ in SUBSTITUTIONS.get(page, []):
        command = command.replace(old, new)
    return command


ALL = [b for page in PAGES for b in blocks(page)]


def test_every_marker_gives_a_reason_and_every_substitution_is_used() -> None:
    unexplained = [f"{b.page}:{b.line}" for b in ALL if b.marker and not (b.reason or "").strip()]
    assert not unexplained, f"<!-- {{not-run|slow}}: REASON --> needs a reason: {unexplained}"
    for page, subs in SUBSTITUTIONS.items():
        text = "\n".join(" ".join(b.commands) for b in ALL if b.page == page and b.marker is None)
        unused = [old for old, _, _ in subs if old not in text]
        assert not unused, f"{page}: substitutions no longer match any run command: {unused}"
    for page, start, _ in SKIPPED:
        assert any(c.startswith(start) for b in ALL if b.page == page for c in b.commands), (page, start)


def _params() -> list[object]:
    out: list[object] = []
    for page in {b.page for b in ALL}:
        page_blocks = [b for b in ALL if b.page == page]
        if not any(b.marker != "not-run" for b in page_blocks):
            continue
        marks = [pytest.mark.slow] if all(b.marker == "slow" for b in page_blocks if b.marker != "not-run") \
            else []
        out.append(pytest.param(page, marks=marks, id=page))
    return sorted(out, key=lambda p: p.id)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("cache_dir")
@pytest.mark.parametrize("page", _params())
def test_documented_commands_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 request: pytest.FixtureRequest) -> None:
    """The page's command blocks in order, in one scratch directory; each command exits 0."""
    for name in ("configs", "tests", "data"):
        if (ROOT / name).exists():
            (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    expression = request.config.getoption("-m") or ""
    run_slow = "slow" in expression and "not slow" not in expression
    ran = 0
    for block in (b for b in ALL if b.page == page):
        if block.marker == "not-run" or (block.marker == "slow" and not run_slow):
            continue
        for command in block.commands:
            if any(command.startswith(start) for p, start, _ in SKIPPED if p == page):
                continue
            argv = shlex.split(_strip_comment(substituted(page, command)))
            where = f"{page}:{block.line}: {command}"
            assert argv and argv[0] == "hnet-bio", \
                f"{where}: only hnet-bio commands run here; mark the block <!-- not-run: why --> or skip it"
            assert main(argv[1:]) == 0, where
            ran += 1
    assert ran or all(b.marker == "slow" for b in ALL if b.page == page and b.marker != "not-run")


def test_the_block_reader_on_a_synthetic_page(tmp_path: Path) -> None:
    """What counts as a command, a marker and a continuation, on a page written for the purpose."""
    page = tmp_path / "page.md"
    page.write_text("\n".join([
        "```bash", "# a comment", "hnet-bio models   # trailing", "hnet-bio generate --prompt A \\",
        "    --seed 0", "```", "<!-- slow: minutes -->", "```console", "$ hnet-bio data list", "output line",
        "```", "<!-- not-run -->", "~~~sh", "rm -rf /", "~~~", "```", "$ not a command block", "```", "",
    ]))
    found = blocks(page)
    assert [(b.line, b.lang, b.commands, b.marker, b.reason) for b in found] == [
        (1, "bash", ("hnet-bio models   # trailing", "hnet-bio generate --prompt A --seed 0"), None, None),
        (8, "console", ("hnet-bio data list",), "slow", "minutes"),
        (13, "sh", ("rm -rf /",), "not-run", None),
    ]
    assert shlex.split(_strip_comment(found[0].commands[0])) == ["hnet-bio", "models"]
