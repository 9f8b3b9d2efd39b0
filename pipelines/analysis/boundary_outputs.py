"""Which files `hnet-bio boundaries` writes for its chunks and probabilities, chosen by their names.

DNA ``--out``: ``.bed`` (plain, input order) or ``.bed.gz`` (sorted, bgzip + tabix). DNA ``--probs``:
``.bedgraph`` (every stage, one track each, runs merged), ``.bedgraph.gz`` (bgzip + tabix) or
``.bw``/``.bigwig`` (bigWig), the last two one file per stage (`track_files.stage_path`). Audio
``--out`` / ``--probs``: ``.csv``; ``--audacity FILE.txt`` and ``--textgrid FILE.TextGrid`` write a
label track / TextGrid per input file (one input: FILE itself; several: ``FILE-stem.<input>.txt``).
The plan knows every path before the model runs, so each is refused (exists, no such directory)
before any work, and written atomically after it.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from hnet_bio.atomic import atomic_write_text
from pipelines.analysis.boundary_files import (
    audacity_labels_text,
    bed_text,
    bedgraph_text,
    csv_text,
    probs_csv_text,
    textgrid_text,
)
from pipelines.analysis.result import Analysis
from pipelines.analysis.track_files import (
    BIGBED_SUFFIXES,
    BIGWIG_SUFFIXES,
    compound_suffix,
    record_extents,
    sorted_bed_text,
    stage_bedgraph_entries,
    stage_path,
    write_bgzip_indexed,
    write_bigwig,
)
from pipelines.errors import UsageError
from pipelines.inputs import Item

DNA_OUT = (".bed", ".bed.gz")
DNA_PROBS = (".bedgraph", ".bedgraph.gz", *BIGWIG_SUFFIXES)


@dataclass(frozen=True)
class OutputPlan:
    """The chunk and probability files of one run (annotation statistics are planned beside them)."""

    modality: str
    out: Path
    probs: Path | None
    stages: int
    audacity: Path | None = None
    textgrid: Path | None = None
    audio_names: tuple[str, ...] = ()  # the inputs' unique names (per-input label files)

    def check(self) -> None:
        """Names that fit the modality and a format we write; one line each when not."""
        out, probs = compound_suffix(self.out), compound_suffix(self.probs) if self.probs else None
        if self.modality == "dna":
            if out in BIGBED_SUFFIXES:
                raise UsageError("--out .bb: bigBed is not written (pyBigWig, the maintained library, cannot "
                                 "write it); use .bed.gz (bgzip + tabix), which browsers read the same way")
            if out not in DNA_OUT:
                raise UsageError("DNA boundaries are written as BED: --out must end in .bed or .bed.gz")
            if probs is not None and probs not in DNA_PROBS:
                raise UsageError("--probs must end in .bedgraph, .bedgraph.gz, .bw or .bigwig")
            if self.audacity or self.textgrid:
                raise UsageError("--audacity and --textgrid are label files for audio input")
            return
        if out != ".csv":
            raise UsageError("audio boundaries are written as CSV: --out must end in .csv")
        if probs is not None and probs != ".csv":
            raise UsageError("--probs must end in .csv for audio")
        if self.audacity is not None and compound_suffix(self.audacity) != ".txt":
            raise UsageError("--audacity writes an Audacity label track: the name must end in .txt")
        if self.textgrid is not None and compound_suffix(self.textgrid) != ".textgrid":
            raise UsageError("--textgrid writes a Praat TextGrid: the name must end in .TextGrid")

    def check_items(self, items: list[Item]) -> None:
        """Before the model runs: a one-track file (``.bedgraph.gz``, bigWig) holds one value per
        base, so regions of one record must not overlap there."""
        if self.probs is None or compound_suffix(self.probs) in (".bedgraph", ".csv"):
            return
        spans = sorted((it.chrom, it.start0, it.end0) for it in items)
        for (c1, _, e1), (c2, s2, _) in itertools.pairwise(spans):
            if c1 == c2 and s2 < e1:
                raise UsageError(f"regions of {c2!r} overlap at base {s2 + 1:,}; a {self.probs.name} track "
                                 "holds one value per base: give regions that do not overlap")

    def _per_input(self, path: Path) -> list[Path]:
        if len(self.audio_names) <= 1:
            return [path]
        suffix = path.suffix
        stem = path.name[: len(path.name) - len(suffix)]
        safe = ["".join(c if c.isalnum() or c in "-_." else "_" for c in n) for n in self.audio_names]
        return [path.with_name(f"{stem}.{s}{suffix}") for s in safe]

    def _probs_paths(self) -> list[Path]:
        if self.probs is None:
            return []
        if compound_suffix(self.probs) in (".bedgraph", ".csv"):
            return [self.probs]
        return [stage_path(self.probs, s) for s in range(self.stages)]

    def paths(self) -> list[Path]:
        """Every file the plan writes (tabix indexes included), for `check_outputs`."""
        found = [self.out]
        if compound_suffix(self.out) == ".bed.gz":
            found.append(Path(f"{self.out}.tbi"))
        for p in self._probs_paths():
            found.append(p)
            if compound_suffix(p) == ".bedgraph.gz":
                found.append(Path(f"{p}.tbi"))
        for labels in (self.audacity, self.textgrid):
            if labels is not None:
                found += self._per_input(labels)
        return found

    def write(self, items: list[Item], analyses: list[Analysis]) -> list[Path]:
        """Every planned file, each atomically; returns them in `paths` order."""
        written: list[Path] = []
        if self.modality == "audio":
            atomic_write_text(self.out, csv_text(items, analyses))
            written.append(self.out)
            if self.probs is not None:
                atomic_write_text(self.probs, probs_csv_text(items, analyses))
                written.append(self.probs)
            for labels, text in ((self.audacity, audacity_labels_text), (self.textgrid, textgrid_text)):
                if labels is not None:
                    for path, it, a in zip(self._per_input(labels), items, analyses):
                        atomic_write_text(path, text(it, a))
                        written.append(path)
            return written
        if compound_suffix(self.out) == ".bed.gz":
            written += write_bgzip_indexed(self.out, sorted_bed_text(items, analyses))
        else:
            atomic_write_text(self.out, bed_text(items, analyses))
            written.append(self.out)
        return written + self._write_dna_probs(items, analyses)

    def _write_dna_probs(self, items: list[Item], analyses: list[Analysis]) -> list[Path]:
        if self.probs is None:
            return []
        kind = compound_suffix(self.probs)
        if kind == ".bedgraph":
            atomic_write_text(self.probs, bedgraph_text(items, analyses))
            return [self.probs]
        written: list[Path] = []
        for s, path in enumerate(self._probs_paths()):
            entries = stage_bedgraph_entries(items, analyses, s)
            if kind == ".bedgraph.gz":
                text = "".join(f"{c}\t{a}\t{b}\t{v}\n" for c, a, b, v in entries)
                written += write_bgzip_indexed(path, text)
            else:
                written.append(write_bigwig(path, entries, record_extents(items)))
        return written


def plan_outputs(modality: str, out: str | os.PathLike[str], probs: str | os.PathLike[str] | None,
                 stages: int, audacity: str | os.PathLike[str] | None = None,
                 textgrid: str | os.PathLike[str] | None = None,
                 audio_names: tuple[str, ...] = ()) -> OutputPlan:
    """The checked plan (`OutputPlan.check`)."""
    def opt(p: str | os.PathLike[str] | None) -> Path | None:
        return None if p is None else Path(p)

    plan = OutputPlan(modality, Path(out), opt(probs), stages, opt(audacity), opt(textgrid), audio_names)
    plan.check()
    return plan
