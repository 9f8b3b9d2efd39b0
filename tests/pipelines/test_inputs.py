"""The analysis jobs' inputs: several --fasta files, regions from the first file holding the record
(named by an alias or not), one error naming every file for a record in none."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import torch

from hnet_bio.metadata import CheckpointMetadata
from modalities.dna import read_sequence
from modalities.regions import UnknownRecordError
from pipelines.cli import main
from pipelines.errors import UsageError
from pipelines.features.labels import read_labels
from pipelines.inputs import JOB_THREADS, apply_threads, dna_items
from tests.paths import DATA

ECOLI, SAUREUS = DATA / "ecoli_MG1655_20kb.fa", DATA / "saureus_N315_20kb.fa"
SPLICED = DATA / "spliced_genes.gbk"


def test_several_fasta_files_every_record_and_regions_by_alias() -> None:
    items = dna_items([ECOLI, SPLICED])
    assert [(it.chrom, it.length, Path(it.source).name) for it in items] == [
        ("ecoli_MG1655", 20000, ECOLI.name), ("XX000001.1", 360, SPLICED.name),
        ("XX000002.3", 240, SPLICED.name)]
    regions = dna_items([ECOLI, SPLICED], ["SPLICED1:21-50", "ecoli_MG1655:1-30"])
    assert [(it.chrom, it.start0, it.source) for it in regions] == [
        ("XX000001.1", 20, str(SPLICED)), ("ecoli_MG1655", 0, str(ECOLI))]
    assert regions[0].data.tobytes() == read_sequence(SPLICED, "XX000001.1:21-50")
    with pytest.raises(UnknownRecordError, match=r"'chrZ': in none of the 2 files"):
        dna_items([ECOLI, SPLICED], ["chrZ:1-10"])
    with pytest.raises(UsageError, match=r"record 'ecoli_MG1655' is in both"):
        dna_items([ECOLI, ECOLI])


def test_boundaries_and_embed_take_several_fasta(tiny_checkpoints: Mapping[str, Path],
                                                 tmp_path: Path) -> None:
    out = tmp_path / "b.bed"
    dna = str(tiny_checkpoints["dna"])
    assert main(["boundaries", "--checkpoint", dna, "--fasta", str(ECOLI), str(SPLICED), "--region",
                 "SPLICED2:1-200", "--region", "ecoli_MG1655:1-300", "--out", str(out), "--quiet"]) == 0
    chroms = {line.split("\t")[0] for line in out.read_text().splitlines()}
    assert chroms == {"XX000002.3", "ecoli_MG1655"}
    emb = tmp_path / "e.npz"
    assert main(["embed", "--checkpoint", str(tiny_checkpoints["dna"]), "--fasta", str(SAUREUS), str(SPLICED),
                 "--out", str(emb), "--quiet"]) == 0
    with np.load(emb) as z:
        assert list(z["chrom"]) == ["saureus_N315", "XX000001.1", "XX000002.3"]


def test_labels_read_from_several_fasta(tmp_path: Path) -> None:
    labels = tmp_path / "l.tsv"
    labels.write_text("ecoli_MG1655:1-100\ta\nSPLICED1:1-100\tb\necoli_MG1655:101-200\ta\nXX000002:1-100\tb\n")
    task = read_labels(labels, [str(ECOLI), str(SPLICED)], CheckpointMetadata(modality="dna"))
    assert [x.tobytes() for x in task.x_train][1] == read_sequence(SPLICED, "XX000001.1:1-100")


def test_device_auto_is_cuda_when_present_and_bad_devices_are_one_line(
        tiny_checkpoints: Mapping[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from pipelines.inputs import resolve_device

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(UsageError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA device here"):
            resolve_device("cuda")
    # the same boundaries on the CPU, by default and asked for; a missing GPU is one line, exit 2
    dna = str(tiny_checkpoints["dna"])
    base = ["boundaries", "--checkpoint", dna, "--fasta", str(ECOLI), "--region", "ecoli_MG1655:1-1500", "-q"]
    assert main([*base, "--out", str(tmp_path / "a.bed")]) == 0
    assert main([*base, "--out", str(tmp_path / "b.bed"), "--device", "cpu"]) == 0
    assert (tmp_path / "a.bed").read_text() == (tmp_path / "b.bed").read_text()
    for job in (["evaluate", "--checkpoint", dna, "--data", str(ECOLI), "--no-anchors"],
                ["generate", "--checkpoint", dna, "--prompt", "ACGT", "--out", str(tmp_path / "g.fa")],
                ["embed", "--checkpoint", dna, "--fasta", str(ECOLI), "--out", str(tmp_path / "e.npz")],
                ["classify", "--checkpoint", dna, "--task", "organism", "--out", str(tmp_path / "c.json")]):
        assert main([*job, "--device", "tpu"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--device 'tpu'" in err, err


def test_score_takes_device_too(tiny_checkpoints: Mapping[str, Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    dna = str(tiny_checkpoints["dna"])
    base = ["score", "--checkpoint", dna, "--fasta", str(ECOLI), "--region", "ecoli_MG1655:1-300", "-q"]
    assert main([*base, "--out", str(tmp_path / "a.tsv"), "--device", "cpu"]) == 0
    assert main([*base, "--out", str(tmp_path / "b.tsv"), "--device", "tpu"]) == 2
    assert "--device 'tpu'" in capsys.readouterr().err


def test_jobs_run_one_thread_per_process_unless_told(
    tiny_checkpoints: Mapping[str, Path], tmp_path: Path
) -> None:
    """--threads wins; without it a job sets JOB_THREADS (1), whatever torch's own default was."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        apply_threads(None)
        assert torch.get_num_threads() == JOB_THREADS == 1
        apply_threads(2)
        assert torch.get_num_threads() == 2
        with pytest.raises(UsageError, match="--threads must be >= 1"):
            apply_threads(0)
        torch.set_num_threads(2)
        main(["boundaries", "--checkpoint", str(tiny_checkpoints["dna"]), "--fasta",
              str(DATA / "ecoli_MG1655_20kb.fa"), "--region", "ecoli_MG1655:1-600",
              "--out", str(tmp_path / "b.bed"), "-q"])
        assert torch.get_num_threads() == 1  # the job itself set it
    finally:
        torch.set_num_threads(before)
