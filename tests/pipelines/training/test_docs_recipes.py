"""docs/pretrain.md's recipe table says what the recipe files say (issue 22: it said 150 steps
where the file has 100): steps and bytes per step, read from each YAML file."""

from __future__ import annotations

import re

import yaml

from tests.paths import CONFIGS, ROOT


def test_recipe_table_matches_the_recipe_files() -> None:
    text = (ROOT / "docs" / "pretrain.md").read_text()
    rows = re.findall(r"^\| `configs/(pretrain-[\w-]+\.yaml)` \|[^|]*\|([^|]*)\|$", text, flags=re.M)
    assert len(rows) >= 6
    for name, cell in rows:
        train = yaml.safe_load((CONFIGS / name).read_text())["train"]
        per_step = train["seq_len"] * train["batch_size"] * train.get("grad_accum", 1)
        if "byte_budget" in train:  # "22,665,304 bytes ... 4 kB per process and step"
            m = re.search(r"([\d,]+) bytes.* (\d+) kB per process and step", cell)
            assert m is not None, (name, cell)
            budget, kb = int(m[1].replace(",", "")), int(m[2])
            assert (budget, kb) == (train["byte_budget"], round(per_step / 1000)), name
            continue
        m = re.search(r"(\d+) steps x (\d+) kB", cell)
        assert m is not None, (name, cell)
        assert (int(m[1]), int(m[2])) == (train["max_steps"], round(per_step / 1000)), name
