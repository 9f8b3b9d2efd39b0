"""Boundary tracks in the forms genome browsers load fast: bgzip + tabix, and bigWig.

- ``.bed.gz``: the BED chunks (`boundary_files.bed_text`), every stage in one file, sorted by
  record (in input order) and start, BGZF-compressed with a tabix index (``.tbi``) beside it, so
  IGV, JBrowse and ``tabix FILE chr:a-b`` read any region without reading the file.
- ``.bedgraph.gz``: one stage per file (a tabix file or a bigWig is one track), run-merged like the
  plain bedGraph, bgzipped and tabix-indexed; stage 0 takes the given name and stage s >= 1 the name
  with ``.stage<s>`` before its suffix (`stage_path`).
- ``.bw`` / ``.bigwig``: the same runs as bigWig through pyBigWig (deepTools' maintained library,
  manylinux wheels; the optional ``tracks`` extra). The header's record sizes are the analysed
  extent (a whole record: its length; a region: its end), which is all a bigWig needs.
- bigBed is not offered: pyBigWig reads bigBed but cannot write it, and no other maintained library
  with wheels writes it; ``.bed.gz`` + tabix serves the same purpose in every browser we know.

pysam (htslib) does the BGZF and the index; both files are written atomically.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

from hnet_bio.atomic import atomic_path
from pipelines.analysis.boundary_files import bed_text, bedgraph_runs
from pipelines.analysis.result import Analysis
from pipelines.errors import UsageError
from pipelines.inputs import Item

BIGWIG_SUFFIXES = (".bw", ".bigwig")
BIGBED_SUFFIXES = (".bb", ".bigbed")


def compound_suffix(path: str | os.PathLike[str]) -> str:
    """``.bed``, ``.bed.gz``, ``.bedgraph.gz``, ``.bw``: the suffix that decides the format (lower case)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def stage_path(path: str | os.PathLike[str], stage: int) -> Path:
    """Where stage ``stage`` of a one-track-per-file format goes: ``path`` for stage 0, else
    ``NAME.stage<s>SUFFIX`` (``probs.bw`` -> ``probs.stage1.bw``)."""
    p = Path(path)
    if stage == 0:
        return p
    suffix = compound_suffix(p)
    stem = p.name[: len(p.name) - len(suffix)]
    return p.with_name(f"{stem}.stage{stage}{suffix}")


def sorted_bed_text(items: list[Item], analyses: list[Analysis]) -> str:
    """The BED lines sorted for tabix: records in input order, then start, end."""
    order = {c: i for i, c in enumerate(dict.fromkeys(it.chrom for it in items))}
    lines = bed_text(items, analyses).splitlines()
    keyed = [(order[f[0]], int(f[1]), int(f[2]), line) for line in lines for f in [line.split("\t")]]
    return "".join(f"{line}\n" for *_, line in sorted(keyed, key=lambda k: k[:3]))


def stage_bedgraph_entries(items: list[Item], analyses: list[Analysis],
                           stage: int) -> list[tuple[str, int, int, str]]:
    """One stage's bedGraph runs, sorted (records in input order, then start); overlapping regions of
    one record are refused (a track holds one value per base)."""
    order = {c: i for i, c in enumerate(dict.fromkeys(it.chrom for it in items))}
    rows = sorted(((order[it.chrom], s, e, v, it.chrom) for it, a in zip(items, analyses)
                   for s, e, v in bedgraph_runs(it, a, stage)), key=lambda r: r[:3])
    for prev, cur in itertools.pairwise(rows):
        if prev[0] == cur[0] and cur[1] < prev[2]:
            raise UsageError(f"regions of {cur[4]!r} overlap at base {cur[1] + 1:,}; a bedGraph/bigWig "
                             "track holds one value per base: give regions that do not overlap")
    return [(c, s, e, v) for _, s, e, v, c in rows]


def write_bgzip_indexed(path: str | os.PathLike[str], text: str) -> list[Path]:
    """``text`` (BED-like lines, sorted) as BGZF at ``path`` with its tabix index ``path.tbi``."""
    import pysam  # why: htslib's BGZF and tabix; only these outputs need it

    target = Path(path)
    index = Path(f"{target}.tbi")
    with atomic_path(target) as gz_tmp, atomic_path(index) as tbi_tmp:
        fd, plain = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".txt")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            pysam.tabix_compress(plain, str(gz_tmp), force=True)
            pysam.tabix_index(str(gz_tmp), preset="bed", index=str(tbi_tmp), force=True)
        finally:
            os.unlink(plain)
    return [target, index]


def write_bigwig(path: str | os.PathLike[str], entries: list[tuple[str, int, int, str]],
                 sizes: dict[str, int]) -> Path:
    """bigWig of sorted, non-overlapping ``(chrom, start, end, value)`` runs; ``sizes``: record sizes."""
    try:
        import pyBigWig  # why: optional (the `tracks` extra); only bigWig output needs it
    except ImportError:
        raise UsageError(f"{path}: writing bigWig needs pyBigWig (pip install 'hnet-bio[tracks]' or "
                         "pip install pyBigWig); or write .bedgraph.gz (bgzip + tabix)") from None
    target = Path(path)
    with atomic_path(target) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(list(sizes.items()), maxZooms=10)
            if entries:
                bw.addEntries([c for c, *_ in entries], [s for _, s, _, _ in entries],
                              ends=[e for _, _, e, _ in entries], values=[float(v) for *_, v in entries])
        finally:
            bw.close()
    return target


def record_extents(items: list[Item]) -> dict[str, int]:
    """Per record (input order), the furthest base analysed: the bigWig header's sizes."""
    sizes: dict[str, int] = {}
    for it in items:
        sizes[it.chrom] = max(sizes.get(it.chrom, 0), it.end0)
    return sizes
