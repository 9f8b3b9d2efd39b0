"""The catalogue of bad inputs, as a new user meets them, through the CLI.

Every bad case must give exit status 2, exactly one line on stderr that names the file (or the
option) and the problem, no traceback, and no output left behind (the case's directory is unchanged,
apart from the .fai index pyfaidx may add beside a FASTA). Every unusual-but-valid case must be
accepted and read exactly. BED files and GenBank/GFF3 feature tables have no subcommand of their
own yet, so their cases call the library readers and hold them to the same one-line rule.

Cases run in-process through ``pipelines.cli.main`` (fast); two run as real subprocesses, to show
the same holds for ``python -m pipelines`` with its real stderr and exit status.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from modalities.errors import InputError
from pipelines.cli import main
from tests.paths import CONFIGS, DATA, ROOT

TINY = str(CONFIGS / "tiny-1stage.json")
ECOLI = (DATA / "ecoli_MG1655_20kb.fa").read_bytes()
SAUREUS = (DATA / "saureus_N315_20kb.fa").read_bytes()
GBK = (DATA / "leptospira_excerpt.gbk").read_bytes()
EMBL = (DATA / "K02675_excerpt.embl").read_bytes()
GFF = (DATA / "ecoli_contig_excerpt.gff3").read_bytes()
SPEECH = (DATA / "speech_allison_3s.wav").read_bytes()


def wav(samples: int, rate: int = 8000, channels: int = 1, subtype: str = "PCM_16") -> bytes:
    """A real WAV file's bytes: ``samples`` frames of a low tone."""
    import io

    t = np.arange(samples, dtype=np.float32) / rate
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def wav_with_nan() -> bytes:
    """A float WAV with one NaN sample (soundfile reads it back as NaN)."""
    import io

    x = np.zeros(800, dtype=np.float32)
    x[400] = np.nan
    buf = io.BytesIO()
    sf.write(buf, x, 8000, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def genome(n: int, name: str = "g") -> bytes:
    """A one-record FASTA of the first ``n`` real E. coli bases, 60 per line."""
    seq = b"".join(ECOLI.split(b"\n")[1:])[:n]
    return b">" + name.encode() + b"\n" + b"\n".join(seq[i : i + 60] for i in range(0, n, 60)) + b"\n"


def gbk_cut_before_end() -> bytes:
    """The first GenBank record cut inside its sequence: no '//' line."""
    return GBK[: GBK.index(b"//\n") - 200]


def gbk_bad_base() -> bytes:
    origin = GBK.index(b"ORIGIN")
    first = GBK.index(b"\n", origin) + 1 + 10  # first base of the first sequence line
    return GBK[:first] + b"j" + GBK[first + 1 :]


def recipe(text: str) -> bytes:
    return f"model: {TINY}\n{text}".encode()


@dataclass
class Case:
    """A bad input: files to create in a fresh directory, the command, what the one line must say."""

    id: str
    files: dict[str, bytes]
    argv: list[str]
    says: str  # regex the message must match
    names: str | None = "{d}"  # text the message must contain (the file or option), formatted
    call: Callable[[Path], object] | None = None  # for library-level cases (no subcommand)


def data_info(name: str) -> list[str]:
    return ["data", "info", f"{{d}}/{name}"]


def pretrain(data: str, *extra: str, config: str = TINY) -> list[str]:
    return ["pretrain", "--config", config, "--data", data, "--out", "{d}/run", "-q", *extra]


def gen(ck: str, *extra: str) -> list[str]:
    return ["generate", "--checkpoint", f"{{{ck}}}", "--max-new-bytes", "4", "--quiet", *extra]


def prompt_region(id: str, region: str, says: str) -> Case:
    """`generate --prompt-fasta` with a region of a 200-base one-record FASTA."""
    return Case(id, {"x.fa": genome(200)}, gen("dna", "--prompt-fasta", f"{{d}}/x.fa:{region}"), says)


def bed(text: str) -> Case:
    from modalities.regions import read_bed

    return Case("", {"r.bed": text.encode()}, [], "", call=lambda d: read_bed(d / "r.bed"))


def annotations(name: str, content: bytes) -> Case:
    from modalities.annotations import read_annotations

    return Case("", {name: content}, [], "", call=lambda d: read_annotations(d / name))


def _with(case: Case, id: str, says: str) -> Case:
    case.id, case.says = id, says
    return case


D = "{d}"  # the case's own directory, in argv templates and in the text a message must name
C = Case
BAD: list[Case] = [
    # FASTA
    C("fasta-empty-file", {"x.fa": b""}, data_info("x.fa"), r"empty file \(0 bytes\)"),
    C("fasta-no-header", {"x.fa": b"ACGTACGT\n"}, data_info("x.fa"), r"line 1: sequence data before any '>'"),
    C("fasta-header-without-name", {"x.fa": b">\nACGT\n"}, data_info("x.fa"), r"line 1: '>' header without"),
    C("fasta-duplicate-name", {"x.fa": b">a\nAC\n>a\nGT\n"}, data_info("x.fa"), r"line 3: duplicate .*'a'"),
    C("fasta-bad-letter", {"x.fa": b">a\nACGTXACGT\n"}, data_info("x.fa"), r"line 2: invalid character 'X'"),
    C("fasta-is-a-png", {"x.fa": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}, data_info("x.fa"),
      r"before any '>' header"),
    C("fasta-gzip-truncated", {"x.fa.gz": gzip.compress(ECOLI)[:3000]}, data_info("x.fa.gz"),
      r"truncated or corrupt gzip"),
    C("fasta-xz-truncated", {"x.fna.xz": lzma.compress(ECOLI)[:3000]}, data_info("x.fna.xz"),
      r"truncated or corrupt xz"),
    C("fasta-bz2-corrupt", {"x.fa.bz2": bz2.compress(ECOLI)[:40] + b"\x00" * 500}, data_info("x.fa.bz2"),
      r"truncated or corrupt bz2"),
    C("fasta-missing", {}, data_info("absent.fa"), r"no such file"),
    C("dir-without-sequences", {"d/notes.txt": b"hello\n"}, ["data", "info", f"{D}/d"],
      r"directory holds no sequence or audio files"),
    C("mixed-audio-and-dna", {"x.fa": genome(100), "y.wav": wav(800)},
      ["data", "info", f"{D}/x.fa,{D}/y.wav"], r"cannot mix audio and sequence"),
    C("pretrain-one-short-record", {"x.fa": genome(300)}, pretrain(f"{D}/x.fa"),
      r"too small to train on: .*'g'.* 300 bytes.*1,025 bytes"),
    C("pretrain-header-only", {"x.fa": b">only_a_header\n"}, pretrain(f"{D}/x.fa"), r"holds no bases"),
    C("pretrain-heldout-below-a-window", {"x.fa": genome(3000)},
      pretrain(f"{D}/x.fa", "--train.seq_len", "2048"),
      r"held-out split .* has no window of 2,049 bytes"),
    # GenBank / EMBL / GFF3
    C("genbank-truncated", {"x.gbk": gbk_cut_before_end()}, data_info("x.gbk"),
      r"record 'NZ_AHMY02000073.1' is truncated .*'//'"),
    C("genbank-truncated-in-header", {"x.gbk": GBK[:400]}, data_info("x.gbk"), r"not a valid genbank file"),
    C("genbank-bad-base", {"x.gbk": gbk_bad_base()}, data_info("x.gbk"), r"invalid character 'J'"),
    C("genbank-named-seq-truncated", {"x.seq": gbk_cut_before_end()}, data_info("x.seq"), r"is truncated"),
    C("embl-truncated", {"x.embl": EMBL[:1500]}, data_info("x.embl"), r"not a valid embl file"),
    C("gff3-without-fasta", {"x.gff3": GFF[: GFF.index(b"##FASTA")]}, data_info("x.gff3"),
      r"no embedded ##FASTA"),
    _with(annotations("x.gbk", GBK.replace(b"complement(735..1634)", b"complement(735..x1634)")),
          "genbank-malformed-location", r"malformed location '735\.\.x1634' of a gene feature"),
    _with(annotations("x.gff3", GFF.replace(b"\t+\t", b" + ", 1)), "gff3-feature-not-9-columns",
          r"needs 9 tab-separated columns"),
    _with(annotations("x.gbk", gbk_cut_before_end()), "annotations-of-truncated-genbank", r"is truncated"),
    # BED
    _with(bed("chr1\t10\n"), "bed-two-columns", r"line 1: a BED line needs at least 3 columns"),
    _with(bed("chr1\tten\t20\n"), "bed-not-integers", r"line 1: start/end are not integers"),
    _with(bed("chr1\t0\t5\nchr1\t30\t20\n"), "bed-end-before-start", r"line 2: invalid interval 30-20"),
    _with(bed("chr1\t0\t5\tx\t0\tup\n"), "bed-bad-strand", r"strand must be"),
    _with(bed("# only a comment\ntrack name=x\n"), "bed-no-intervals", r"no intervals"),
    # Regions (generate --prompt-fasta FILE:REGION)
    prompt_region("region-negative-start", "g:-5-10", r"cannot parse region 'g:-5-10'"),
    prompt_region("region-letters", "g:abc-def", r"cannot parse region 'g:abc-def'"),
    prompt_region("region-unknown-record", "chr9:1-10", r"unknown record name 'chr9' \(records: g\)"),
    prompt_region("region-past-end", "g:150-900", r"lies past the end of record 'g' \(length 200\)"),
    prompt_region("region-end-before-start", "g:50-10", r"end 10 is before start 50"),
    prompt_region("region-zero-start", "g:0-10", r"start must be >= 1"),
    C("prompt-record-of-length-0", {"x.fa": b">empty\n>full\nACGT\n"},
      gen("dna", "--prompt-fasta", f"{D}/x.fa:empty"), r"record 'empty' is empty \(0 bases\)"),
    C("prompt-only-record-empty", {"x.fa": b">nothing_here\n"}, gen("dna", "--prompt-fasta", f"{D}/x.fa"),
      r"record 'nothing_here' is empty \(0 bases\)"),
    C("prompt-needs-region", {"x.fa": genome(50, "a") + genome(50, "b")},
      gen("dna", "--prompt-fasta", f"{D}/x.fa"), r"file has 2 records; give a region such as a:1-1000"),
    # WAV
    C("wav-empty", {"x.wav": b""}, data_info("x.wav"), r"empty file \(0 bytes\)"),
    C("wav-is-text", {"x.wav": b"this is not audio\n" * 20}, data_info("x.wav"), r"unreadable audio"),
    C("wav-header-cut", {"x.wav": SPEECH[:30]}, data_info("x.wav"), r"unreadable audio"),
    C("wav-no-samples", {"x.wav": wav(0)}, data_info("x.wav"), r"contains no samples"),
    C("wav-float-nan", {"x.wav": wav_with_nan()}, data_info("x.wav"), r"1 sample\(s\) are NaN or infinite"),
    C("pretrain-10ms-wav", {"x.wav": wav(80)}, pretrain(f"{D}/x.wav"),
      r"too small to train on: .*80 bytes \(0\.01 s at 8000 Hz\)"),
    C("prompt-audio-unreadable", {"x.wav": b"RIFF....WAVE"},
      gen("audio", "--prompt-audio", f"{D}/x.wav", "--out", f"{D}/o.wav"), r"unreadable audio"),
    # Recipes
    C("recipe-yaml-syntax", {"r.yaml": recipe("train: {lr: [1, 2\n")}, pretrain("x", config=f"{D}/r.yaml"),
      r"cannot parse .*r\.yaml"),
    C("recipe-unknown-key", {"r.yaml": recipe("train: {lrr: 0.1}\n")}, pretrain("x", config=f"{D}/r.yaml"),
      r"unknown key 'train\.lrr'", None),
    C("recipe-bad-number", {"r.yaml": recipe("train: {lr: fast}\n")}, pretrain("x", config=f"{D}/r.yaml"),
      r"train\.lr: expected a number, got 'fast'", None),
    C("recipe-sample-rate-zero", {"r.yaml": recipe("data: {sample_rate: 0}\n")},
      pretrain("x", config=f"{D}/r.yaml"), r"data\.sample_rate must be a positive integer", None),
    C("recipe-eval-fraction", {"x.fa": genome(5000)}, pretrain(f"{D}/x.fa", "--data.eval_fraction", "1.5"),
      r"data\.eval_fraction must be in \(0, 1\)", None),
    C("recipe-missing", {}, pretrain("x", config=f"{D}/nope.yaml"), r"config file not found"),
    C("rc-augment-on-audio", {"x.wav": wav(24000)}, pretrain(f"{D}/x.wav", "--train.rc_augment", "true"),
      r"rc_augment .* is for DNA; this corpus is audio", None),
    # Checkpoints
    C("checkpoint-missing", {}, [*gen("dna", "--prompt", "ACGT"), "--checkpoint", f"{D}/none"],
      r"no such checkpoint directory, and not a shipped model"),
    C("checkpoint-empty-dir", {"ck/.keep": b""}, [*gen("dna", "--prompt", "ACGT"), "--checkpoint", f"{D}/ck"],
      r"missing config\.json"),
    C("checkpoint-bad-config-json", {"ck/config.json": b"{x", "ck/model.safetensors": b"\x00" * 16},
      [*gen("dna", "--prompt", "ACGT"), "--checkpoint", f"{D}/ck"], r"config\.json: not valid JSON"),
    # Output paths
    C("pretrain-out-not-empty", {"x.fa": genome(5000), "run/keep.txt": b"mine\n"}, pretrain(f"{D}/x.fa"),
      r"run directory .*run is not empty"),
    C("generate-dna-out-not-fasta", {}, gen("dna", "--prompt", "ACGT", "--out", f"{D}/o.txt"),
      r"--out must end in \.fa", None),
    C("generate-audio-out-not-wav", {"p.wav": wav(400)},
      gen("audio", "--prompt-audio", f"{D}/p.wav", "--out", f"{D}/o.fa"), r"give --out FILE\.wav", None),
    C("generate-stream-to-stdout", {}, gen("dna", "--prompt", "ACGT", "--stream"), r"--stream needs --out",
      None),
    # CLI misuse
    C("prompt-not-dna", {}, gen("dna", "--prompt", "HELLO 123"), r"--prompt: 'E' at position 2 is not a nucl",
      None),
    C("alphabet-digits", {}, gen("dna", "--prompt", "ACGT", "--alphabet", "123"),
      r"--alphabet: '123' are not IUPAC", None),
    C("audio-model-given-letters", {}, gen("audio", "--prompt", "ACGT", "--out", f"{D}/o.wav"),
      r"this is an audio model", None),
    C("dna-model-given-audio", {"p.wav": wav(400)}, gen("dna", "--prompt-audio", f"{D}/p.wav"),
      r"this is a DNA model", None),
    C("sample-rate-zero", {"x.wav": wav(800)}, [*data_info("x.wav"), "--sample-rate", "0"],
      r"--sample-rate must be a positive integer", None),
    C("sample-rate-negative", {"x.wav": wav(800)}, [*data_info("x.wav"), "--sample-rate", "-8000"],
      r"--sample-rate must be a positive integer", None),
    C("num-samples-zero", {}, gen("dna", "--prompt", "ACGT", "--num-samples", "0"), r"--num-samples must be",
      None),
    C("num-samples-not-int", {}, gen("dna", "--prompt", "ACGT", "--num-samples", "two"),
      r"--num-samples: invalid int value: 'two'", None),
    C("threads-zero", {}, gen("dna", "--prompt", "ACGT", "--threads", "0"), r"--threads must be >= 1", None),
    C("unknown-override", {}, pretrain("x", "--train.lrr", "1"), r"unknown override --train\.lrr", None),
    C("unknown-subcommand", {}, ["frobnicate"], r"invalid choice: 'frobnicate'", None),
    C("pretrain-without-config", {}, ["pretrain", "--out", f"{D}/run"], r"give --config CONFIG and --out",
      None),
    C("resume-and-out-differ", {}, ["pretrain", "--resume", f"{D}/a", "--out", f"{D}/b"],
      r"--out and --resume name different directories", None),
]


@pytest.fixture(scope="module")
def checkpoints(tiny_checkpoints: Mapping[str, Path]) -> dict[str, str]:
    return {name: str(tiny_checkpoints[name]) for name in ("dna", "audio")}


pytestmark = pytest.mark.usefixtures("cache_dir")


def _make(d: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(content)


def _snapshot(d: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(d)): p.read_bytes()
        for p in d.rglob("*")
        if p.is_file() and p.suffix not in (".fai", ".gzi")
    }


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own usage errors exit through SystemExit
        return int(exc.code or 0)


def test_catalogue_is_large_and_distinct() -> None:
    assert len(BAD) >= 40 and len({c.id for c in BAD}) == len(BAD)


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_input_is_one_line_exit_2_no_output(
    case: Case, tmp_path: Path, checkpoints: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "case"
    d.mkdir()
    _make(d, case.files)
    before = _snapshot(d)
    fill = {"d": str(d), **checkpoints}
    if case.call is not None:
        with pytest.raises(InputError) as info:
            case.call(d)
        line = str(info.value)
        assert "\n" not in line
    else:
        rc = _run([a.format(**fill) for a in case.argv])
        out, err = capsys.readouterr()
        assert rc == 2, err
        assert "Traceback" not in err and out == ""
        lines = err.strip("\n").split("\n")
        assert len(lines) == 1, err
        line = lines[0]
        assert re.match(r"hnet-bio( \w+)?: error: ", line), line
    assert re.search(case.says, line), line
    if case.names is not None:
        assert case.names.format(**fill) in line, line
    assert _snapshot(d) == before  # nothing written, nothing half-written
    assert not (d / "run").exists() or case.id == "pretrain-out-not-empty"


@dataclass
class Good:
    """An unusual but valid input: ``data info`` must read it and report these units."""

    id: str
    files: dict[str, bytes]
    spec: str
    units: list[tuple[str, int]]
    extra: list[str] = field(default_factory=list)


def _crlf(b: bytes) -> bytes:
    return b.replace(b"\n", b"\r\n")


GOOD: list[Good] = [
    Good("crlf-line-ends", {"x.fa": _crlf(genome(130))}, "x.fa", [("g", 130)]),
    Good("no-final-newline-ragged", {"x.fa": b">r\nAAA\nA\nA"}, "x.fa", [("r", 5)]),
    Good(
        "blank-lines-and-comments",
        {"x.fa": b"\n\n;made by hand\n>a desc here\nAC\n\nGT\n"},
        "x.fa",
        [("a", 4)],
    ),
    Good("soft-masked-and-iupac", {"x.fa": b">m\nacgtNNRYSWKMBDHVn\n"}, "x.fa", [("m", 17)]),
    Good(
        "name-with-colons-and-pipes",
        {"x.fa": b">gi|29165615|ref|NC_002745.2|\nACGT\n"},
        "x.fa",
        [("gi|29165615|ref|NC_002745.2|", 4)],
    ),
    Good("xz-fasta", {"x.fna.xz": lzma.compress(ECOLI)}, "x.fna.xz", [("ecoli_MG1655", 20_000)]),
    Good("bz2-fasta", {"x.fa.bz2": bz2.compress(SAUREUS)}, "x.fa.bz2", [("saureus_N315", 20_000)]),
    Good("gzip-fasta-without-suffix", {"genome": gzip.compress(ECOLI)}, "genome", [("ecoli_MG1655", 20_000)]),
    Good(
        "genbank-named-seq",
        {"x.seq": GBK},
        "x.seq",
        [("NZ_AHMY02000073.1", 4205), ("NZ_AHMY02000064.1", 2498)],
    ),
    Good(
        "genbank-named-fa", {"x.fa": GBK}, "x.fa", [("NZ_AHMY02000073.1", 4205), ("NZ_AHMY02000064.1", 2498)]
    ),
    Good(
        "genbank-xz",
        {"x.gbk.xz": lzma.compress(GBK)},
        "x.gbk.xz",
        [("NZ_AHMY02000073.1", 4205), ("NZ_AHMY02000064.1", 2498)],
    ),
    Good("embl", {"x.embl": EMBL}, "x.embl", [("K02675.1", 569), ("L02679.1", 569)]),
    Good("gff3-with-fasta", {"x.gff3": GFF}, "x.gff3", [("BAC_00087", 1152)]),
    Good(
        "directory-of-xz-with-index-and-readme",
        {"d/a.fna.xz": lzma.compress(ECOLI), "d/b.fasta.bz2": bz2.compress(SAUREUS), "d/README": b"notes\n"},
        "d",
        [("ecoli_MG1655", 20_000), ("saureus_N315", 20_000)],
    ),
    Good("path-with-space-and-unicode", {"my génome/x y.fa": genome(70)}, "my génome/x y.fa", [("g", 70)]),
    Good("stereo-44k-float-wav", {"s.wav": wav(4410, 44100, 2, "FLOAT")}, "s.wav", [("s", 4410)]),
    Good("wav-at-its-own-rate", {"s.wav": wav(8000)}, "s.wav", [("s", 8000)]),
    Good(
        "wav-resampled-on-request", {"s.wav": wav(8000)}, "s.wav", [("s", 16000)], ["--sample-rate", "16000"]
    ),
    Good("flac", {"s.flac": SPEECH}, "s.flac", [("s", 24000)]),  # WAV bytes named .flac: read by content
]


@pytest.mark.parametrize("case", GOOD, ids=[g.id for g in GOOD])
def test_unusual_valid_input_is_accepted(
    case: Good, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _make(tmp_path, case.files)
    rc = _run(["data", "info", str(tmp_path / case.spec), *case.extra])
    out, err = capsys.readouterr()
    assert rc == 0 and err == "", err
    rows = [line.strip().split("\t") for line in out.splitlines()[1:] if "\t" in line]  # not "eval split:"
    assert [(name, int(n)) for name, n in rows] == case.units


def test_unusual_regions_are_accepted(
    tmp_path: Path, checkpoints: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Commas in coordinates, a minus strand, and a record name with colons, as samtools takes them."""
    from modalities.dna import read_fasta, reverse_complement

    seq = b"".join(ECOLI.split(b"\n")[1:])[:3000]
    (tmp_path / "x.fa").write_bytes(b">HLA-A*01:01\n" + seq + b"\n")
    for region, want in (
        ("HLA-A*01:01:1,001-1,020", seq[1000:1020]),
        ("HLA-A*01:01:11-30:-", reverse_complement(seq[10:30])),
    ):
        out = tmp_path / "o.fa"
        rc = main(
            [
                "generate",
                "--checkpoint",
                checkpoints["dna"],
                "--prompt-fasta",
                f"{tmp_path}/x.fa:{region}",
                "--max-new-bytes",
                "2",
                "--include-prompt",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        assert rc == 0, capsys.readouterr().err
        assert read_fasta(out)[0].seq[:20] == want
        out.unlink()


@pytest.mark.parametrize(
    "argv,says",
    [
        (["data", "info", "{d}/x.fa"], r"line 2: invalid character 'Z'"),
        (["generate", "--checkpoint", "{d}/none", "--prompt", "ACGT"], r"no such checkpoint directory"),
    ],
)
def test_as_a_real_process(tmp_path: Path, argv: list[str], says: str) -> None:
    (tmp_path / "x.fa").write_bytes(b">a\nACGZ\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HNET_BIO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", *[a.format(d=tmp_path) for a in argv]],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert re.search(says, lines[0]) and str(tmp_path) in lines[0]
