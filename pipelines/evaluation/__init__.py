"""Held-out evaluation of one checkpoint and the classical anchors measured on the same bytes.

- `heldout`: the evaluation windows, `evaluate_checkpoint`, the training units anchors count on
- `anchors`: interpolated order-k Markov models, xz and zstd in bits per byte
- `result`: `EvaluationResult` (what ``hnet-bio evaluate`` prints and writes) and `AnchorNumbers`
"""
