"""Data-efficiency comparisons: `runner.compare` trains every arm (through the training library's
hooks) and `report` writes what they show.

- `recipe`: the compare recipe, FLOP matching by depth
- `compare_dir`: the compare directory (its manifest, one run directory per arm and seed)
- `runner`: `compare`, arm training, run locks, progress
- `numbers`: curves, held-out evaluation of every arm, anchors, gathered once (`gather`) into
  `results.ComparisonResults` (what results.json holds); `efficiency`: the multiplier
- `figures`, `report`: PNGs, report.md, report.html, results.json
"""
