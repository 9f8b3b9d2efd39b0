"""A variant of a comparison's reference arm (say the H-Net at another learning rate), trained
separately on the comparison's own recipe with one override, read against the comparison's
baselines of the same seed: bits/byte before the decay and at the end, the both-way multiplier
and the paired gap with its 95% interval, exactly as the report reads its own arms.

Usage:
    hnet-bio pretrain --config COMPARE/runs/hnet1-seed0/pretrain_config.json --out RUN --train.lr 0.0015
    python scripts/variant_vs_compare.py COMPARE RUN [RUN ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.comparison.compare_dir import MARKER, arm_run, check_out
from pipelines.comparison.numbers import arm_numbers, reading
from pipelines.comparison.recipe import CompareRecipe
from pipelines.comparison.results import ArmResult
from pipelines.errors import UsageError
from pipelines.runs.run_dir import RunDir
from pipelines.training.train_config import read_config


def table(compare: Path, variants: list[Path]) -> str:
    manifest = check_out(compare, None) if (compare / MARKER).is_file() else None
    if manifest is None:
        raise UsageError(f"{compare}: not a compare directory (no {MARKER})")
    recipe = CompareRecipe.from_json(manifest.recipe)
    baselines = [a.name for a in recipe.arms if a.name not in recipe.reference]
    loaded: dict[tuple[str, int], dict[int, ArmResult]] = {}  # each baseline run read once
    rows = ["| run | lr | before the decay | end | " + " | ".join(
        f"vs {b}: before the decay (gap) / end" for b in baselines) + " |",
            "|---|---|---|---|" + "---|" * len(baselines)]
    for path in variants:
        train = read_config(path).train
        mine = {train.seed: arm_numbers(RunDir(path))}
        run = mine[train.seed]
        here, last = run.at(recipe.stable_end()), run.curve[-1] if run.curve else None
        cells = []
        for b in baselines:
            key = (b, train.seed)
            if key not in loaded:
                loaded[key] = {train.seed: arm_numbers(arm_run(compare, b, train.seed))}
            st, end = (reading(recipe, mine, loaded[key], at)
                       for at in (recipe.stable_end(), recipe.budget_end()))
            gap = st.gaps[0] if st is not None else None
            gap_text = gap.text(4, signed=True) if gap else "-"
            cells.append(f"{st.per_seed[0].text() if st else '-'} ({gap_text})"
                         f" / {end.per_seed[0].text() if end else '-'}")
        rows.append(f"| {path.name} | {train.lr:g} | "
                    f"{here.bpb if here else float('nan'):.4f} | {last.bpb if last else float('nan'):.4f} | "
                    + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    try:
        print(table(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]))
    except UsageError as exc:
        sys.exit(f"variant_vs_compare: {exc}")
