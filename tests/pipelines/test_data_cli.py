"""`hnet-bio data`: the listing, one-line errors with a non-zero exit, and the fetch script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modalities.corpora import default_data_dir
from pipelines.cli import main
from tests.paths import ROOT

SCRIPT = ROOT / "scripts" / "fetch_data.sh"
DEBS = default_data_dir() / "debs"
FETCHED = (default_data_dir() / "MANIFEST.tsv").exists()


pytestmark = pytest.mark.usefixtures("cache_dir")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pipelines", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_data_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "modality", "files", "size", "present", "path"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"dna-sample", "dna-bacteria", "dna-bacteria-genus", "dna-annotated", "audio-speech",
                         "audio-music"}
    assert rows["dna-sample"][1:3] == ["dna", "1"] and rows["dna-sample"][5] == "yes"
    assert rows["audio-music"][1] == "audio" and rows["audio-music"][5] == "no"
    assert rows["audio-music"][-1].startswith(str(tmp_path))


def test_data_info_and_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "dna-sample", "--split", "eval"]) == 0
    out = capsys.readouterr().out
    assert "units=1  bytes=82649" in out
    # the split rule in words, as the README promises (issue 22): one record, so its last 5%
    assert "eval split: held out the last 5% of record 'gi|208433976|ref|NC_011333.1|' (82,649 of" in out
    empty = tmp_path / "empty.fa"
    empty.write_bytes(b"")
    bad = run_cli("data", "info", str(empty))  # a real process: exit status and stderr as a user sees them
    assert bad.returncode == 2 and bad.stdout == ""
    expected = f"hnet-bio data: error: {empty}: empty file (0 bytes); expected a sequence file"
    assert bad.stderr.splitlines() == [expected]
    assert main(["data", "info", "audio-music", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "audio-music" in err and "hnet-bio data fetch" in err
    noise = tmp_path / "noise.wav"
    noise.write_text("not a wav")
    assert main(["data", "info", str(noise)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(noise) in err and "unreadable audio" in err


def test_fetch_script_without_apt_fails_clearly(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "mkdir"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    proc = subprocess.run(["/bin/bash", str(SCRIPT), str(tmp_path / "data")], capture_output=True, text=True,
                          env={"PATH": str(bin_dir)}, timeout=60)
    assert proc.returncode == 1 and "'apt-get' not found" in proc.stderr and "dna-sample" in proc.stderr


@pytest.mark.skipif(not FETCHED or shutil.which("dpkg-deb") is None,
                    reason="full corpus not fetched; run scripts/fetch_data.sh")
def test_fetch_script_unpacks_from_local_debs_and_is_idempotent(tmp_path: Path) -> None:
    target = tmp_path / "data"
    (target / "debs").mkdir(parents=True)
    for deb in DEBS.glob("*.deb"):
        os.link(deb, target / "debs" / deb.name)  # no network: the script reuses debs already present
    first = subprocess.run(["bash", str(SCRIPT), str(target)], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    manifest = (target / "MANIFEST.tsv").read_text().splitlines()
    assert manifest[0] == "path\tbytes\tsha256" and len(manifest) > 600
    path, size, digest = manifest[1].split("\t")
    assert (target / path).stat().st_size == int(size) and len(digest) == 64
    stamp = (target / "MANIFEST.tsv").stat().st_mtime_ns
    second = subprocess.run(["bash", str(SCRIPT), str(target)], capture_output=True, text=True, timeout=60)
    assert second.returncode == 0 and "up to date" in second.stdout and "nothing to do" in second.stdout
    assert (target / "MANIFEST.tsv").stat().st_mtime_ns == stamp
    from modalities.corpora import list_corpora

    assert all(r.present for r in list_corpora(target))
