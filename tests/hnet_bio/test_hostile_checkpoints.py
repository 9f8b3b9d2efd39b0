"""Hostile or damaged model files: a config.json with absurd sizes or wrong types, a safetensors
header whose shapes disagree with the config, a metadata.json with wrong types, a checkpoint
directory missing one file. Each is one line, exit status 2, found before the model is built.

"Before any large allocation" is measured, not assumed: the big cases run in a child process
under an address-space limit (RLIMIT_AS) and report their own peak RSS, which must stay near
what importing torch costs; on main they allocate (or build a million layers) instead.
"""

from __future__ import annotations

import json
import math
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from hnet_bio import CheckpointError, HNetConfig, build_model
from hnet_bio.checkpoint import CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, load_pretrained
from pipelines.cli import main
from tests.paths import CONFIGS, REFERENCE, ROOT

Edit = Callable[[Path], None]


def _config(change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(ckpt: Path) -> None:
        data = json.loads((ckpt / CONFIG_FILE).read_text())
        change(data)
        (ckpt / CONFIG_FILE).write_text(json.dumps(data))
    return edit


def _metadata(data: Any) -> Edit:
    def edit(ckpt: Path) -> None:
        (ckpt / METADATA_FILE).write_text(data if isinstance(data, str) else json.dumps(data))
    return edit


def _remove(name: str) -> Edit:
    return lambda ckpt: (ckpt / name).unlink()


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *path, last = key.split(".")
        node = data
        for part in path:
            node = node[part]
        node[last] = value
    return change


def _nest(data: dict[str, Any]) -> None:
    layout: Any = ["m1"]
    for _ in range(30):
        layout = ["m1", layout, "m1"]
    data["arch_layout"] = layout


# (name, edit, what the one line must say); tiny-1stage: d_model [32, 48], heads [2, 2]
CASES: list[tuple[str, Edit, str]] = [
    ("d-model-a-string", _config(_set("d_model", ["32", 48])),
     r"d_model\[0\] must be an integer, found '32'"),
    ("d-model-negative", _config(_set("d_model", [-32, 48])), r"d_model\[0\] = -32 is out of range"),
    ("zero-heads", _config(_set("attn_cfg.num_heads", [0, 0])),
     r"attn_cfg.num_heads\[0\] = 0 is out of range"),
    ("expand-a-float", _config(_set("ssm_cfg.expand", 2.5)), r"ssm_cfg.expand must be an integer, found 2.5"),
    ("d-state-a-list", _config(_set("ssm_cfg.d_state", [16])), r"ssm_cfg.d_state must be an integer"),
    ("thirty-levels", _config(_nest), r"arch_layout: more than 8 levels"),
    ("vocab-a-billion", _config(_set("vocab_size", 10**9)), r"vocab_size = 1,000,000,000 is out of range"),
    ("header-disagrees", _config(_set("d_intermediate", [0, 256])),
     r"model.safetensors: does not fit .*config.json: 4 shape mismatch\(es\) \(e.g. .*fc1.weight: "
     r"checkpoint \(256, 48\) vs model \(512, 48\)"),
    ("header-of-another-model", lambda c: shutil.copy(CONFIGS / "tiny-2stage.json", c / CONFIG_FILE),
     r"model.safetensors: does not fit .*missing key\(s\)"),
    ("metadata-modality-a-number", _metadata({"modality": 7}),
     r"metadata.json: modality must be str, found 7"),
    ("metadata-nan-bpb", _metadata('{"modality": "dna", "eval_bpb": NaN}'),
     r"metadata.json: eval_bpb must be a finite number >= 0, found nan"),
    ("metadata-negative-step", _metadata({"step": -3}),
     r"metadata.json: step must not be negative, found -3"),
    ("metadata-rate-a-string", _metadata({"modality": "audio", "sample_rate": "8000"}),
     r"sample_rate must be int, found '8000'"),
    ("metadata-a-list", _metadata([1, 2]), r"metadata.json: expected a JSON object, found list"),
    ("metadata-not-utf8", lambda c: (c / METADATA_FILE).write_bytes(b'{"modality": "\xff"}'),
     r"metadata.json: not valid JSON"),
    ("missing-metadata", _remove(METADATA_FILE),
     r": missing metadata.json \(the modality and byte convention"),
    ("missing-config", _remove(CONFIG_FILE), r"not a checkpoint directory \(missing config.json\)"),
    ("missing-weights", _remove(WEIGHTS_FILE), r"not a checkpoint directory \(missing model.safetensors\)"),
    ("missing-config-in-a-shipped-copy",  # a copy of a shipped model keeps its pretrain_config.json
     lambda c: (_remove(CONFIG_FILE)(c), (c / "pretrain_config.json").write_text("{}")),
     r"not a checkpoint directory \(missing config.json\) nor a run directory \(no checkpoints/\)"),
]


@pytest.fixture
def copy_of_tiny(tiny_checkpoints: Mapping[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["dna"], path)
    return path


@pytest.mark.parametrize("name,edit,says", CASES, ids=[c[0] for c in CASES])
def test_hostile_checkpoint_is_one_line(copy_of_tiny: Path, capsys: pytest.CaptureFixture, name: str,
                                        edit: Edit, says: str) -> None:
    edit(copy_of_tiny)
    before = sorted(p.name for p in copy_of_tiny.iterdir())
    out = copy_of_tiny.parent / "out.fa"
    rc = main(["generate", "--checkpoint", str(copy_of_tiny), "--prompt", "ACGT", "--max-new-bytes", "2",
               "--out", str(out)])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith(f"hnet-bio generate: error: {copy_of_tiny}"), lines[0]
    assert re.search(says, lines[0]), lines[0]
    assert not out.exists() and captured.out == ""
    assert sorted(p.name for p in copy_of_tiny.iterdir()) == before


def test_the_library_refuses_the_same_way(copy_of_tiny: Path) -> None:
    _remove(METADATA_FILE)(copy_of_tiny)
    with pytest.raises(CheckpointError, match=r"missing metadata\.json"):
        load_pretrained(copy_of_tiny)


@pytest.mark.parametrize("config", sorted(CONFIGS.glob("*.json")), ids=lambda p: p.stem)
def test_parameter_count_from_the_config_alone(config: Path) -> None:
    """`HNetConfig.num_parameters` (what the memory and header checks use) equals the built model's."""
    cfg = HNetConfig.from_json(config)
    assert cfg.num_parameters() == sum(p.numel() for p in build_model(cfg).parameters())


@pytest.mark.parametrize("name", sorted(p.stem for p in REFERENCE.glob("*.json")))
def test_parameter_count_of_the_released_configs(name: str) -> None:
    """... and the count of the six released configs' key lists (shapes worked out from the
    reference code, tests/data/reference/*.txt), without building 0.7-1.8 billion parameters."""
    shapes = [json.loads(line.split("\t")[1]) for line in (REFERENCE / f"{name}.txt").read_text().splitlines()
              if not line.startswith("#")]
    assert HNetConfig.from_json(REFERENCE / f"{name}.json").num_parameters() == \
        sum(math.prod(shape) for shape in shapes)


# --------------------------------------------------------------------------- the big ones, measured

_CHILD = r"""
import json, resource, shutil, sys
from pathlib import Path
from pipelines.cli import main
src, root = Path(sys.argv[1]), Path(sys.argv[2])
cases = json.loads(sys.argv[3])
out = {}
for name, config in cases.items():
    ckpt = root / name
    shutil.copytree(src, ckpt)
    (ckpt / "config.json").write_text(json.dumps(config))
    rc = main(["generate", "--checkpoint", str(ckpt), "--prompt", "ACGT", "--max-new-bytes", "2"])
    out[name] = rc
print(json.dumps({"rc": out, "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (12 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))


def test_absurd_sizes_are_refused_before_any_large_allocation(tiny_checkpoints: Mapping[str, Path],
                                                              tmp_path: Path) -> None:
    """In a child process limited to 12 GB of address space, 60 s: d_model 10^9 (divisible by
    every head count, so the old arithmetic checks passed it), a million layers, 215 billion
    parameters (859 GB in float32; within the sanity limits, beyond this machine's memory), and a
    2.2 GB model (554 million parameters) whose weights file holds the tiny model's 0.4 MB (the
    header check must come before the build). Each is exit 2 with one line, and the child's peak
    RSS stays under 1.5 GB (importing torch and the CLI costs about 0.5 GB)."""
    base = json.loads((tiny_checkpoints["dna"] / CONFIG_FILE).read_text())
    huge_width = {**base, "d_model": [10**9, 10**9]}
    many_layers = {**base, "arch_layout": ["m1000000", ["T2"], "m2"]}
    wide = {**base, "d_model": [32, 65536], "d_intermediate": [0, 131072],
            "arch_layout": ["m2", ["T5"], "m2"], "attn_cfg": {**base["attn_cfg"], "num_heads": [2, 512]}}
    mid = {**base, "d_model": [32, 4096], "d_intermediate": [0, 8192],
           "arch_layout": ["m2", ["T3"], "m2"], "attn_cfg": {**base["attn_cfg"], "num_heads": [2, 32]}}
    assert 2.5e11 > HNetConfig.from_dict(json.loads(json.dumps(wide))).num_parameters() > 2.0e11
    assert 6e8 > HNetConfig.from_dict(json.loads(json.dumps(mid))).num_parameters() > 5e8
    cases = {"huge-width": huge_width, "many-layers": many_layers, "beyond-memory": wide,
             "header-of-a-small-model": mid}
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tiny_checkpoints["dna"]), str(tmp_path),
                           json.dumps(cases)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          preexec_fn=_limit_address_space)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["rc"] == dict.fromkeys(cases, 2), proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == len(cases) and "Traceback" not in proc.stderr, proc.stderr
    assert "d_model[0] = 1,000,000,000 is out of range" in errors[0]
    assert "more than 10,000 layers" in errors[1]
    assert "GB in float32, more than this machine's memory" in errors[2] or \
        "more than any machine holds" in errors[2], errors[2]
    assert "does not fit" in errors[3] and "shape mismatch" in errors[3], errors[3]
    assert report["peak_rss_kb"] < 1.5e6, report
