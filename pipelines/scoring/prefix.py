"""Prefix-state reuse: score several continuations of one shared prefix without recomputing it.

A REF window and its ALT windows share every byte left of the variant. The model is causal, so
the state after that prefix (every module's `state`, `hnet_bio.incremental.prefill`) is the same
for all of them: prefill it once per site, copy its row once per allele (`select_rows`), and step
through the suffixes only (`hnet_bio.incremental.step`). This is exact: the H-Net's router decides
a boundary at byte t from bytes t - 1 and t (encoder output), the dechunk EMA and the main
network are causal too, and `tests/hnet_bio` hold prefill + step equal to the parallel forward;
`tests/pipelines/scoring` hold this path equal to full forwards of every window.

What it costs is another matter: a step processes one byte for a whole batch and, in pure PyTorch
on a CPU, costs about three times a byte of a parallel forward (docs/scoring.md has the numbers),
so this path only wins when the suffix is short next to the prefix. `variants` uses it on request.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hnet_bio.cache import select_rows
from hnet_bio.incremental import prefill, step
from pipelines.scoring.likelihood import LOG2E, PAD_BYTE, Model


@torch.no_grad()
def suffix_log_likelihoods(
    model: Model, prefixes: np.ndarray, suffixes: Sequence[Sequence[np.ndarray]]
) -> list[list[float]]:
    """prefixes (G, P) uint8, P >= 1; suffixes[g]: rows (L_gk,) continuing prefix g ->
    [[sum_i log2 p(suffix_gk[i] | prefix_g, suffix_gk[:i]) for k] for g], bits."""
    model.eval()
    device = next(model.parameters()).device
    logits, state = prefill(model, torch.from_numpy(np.ascontiguousarray(prefixes)).to(device))
    owner = [g for g, rows in enumerate(suffixes) for _ in rows]
    flat = [r for rows in suffixes for r in rows]
    rows = torch.tensor(owner, dtype=torch.long, device=device)
    state = select_rows(state, rows)
    cur = logits[:, -1].index_select(0, rows)  # (R, V): the prediction of each suffix's first byte
    width = max(len(r) for r in flat)
    ids = np.full((len(flat), width), PAD_BYTE, dtype=np.uint8)
    for i, r in enumerate(flat):
        ids[i, : len(r)] = r
    x = torch.from_numpy(ids).to(device).long()  # (R, W)
    lengths = torch.tensor([len(r) for r in flat], device=device)
    total = torch.zeros(len(flat), dtype=torch.float64, device=device)
    for t in range(width):
        lp = torch.log_softmax(cur.double(), dim=-1).gather(-1, x[:, t : t + 1]).squeeze(-1)  # (R,)
        total += torch.where(lengths > t, lp, torch.zeros_like(lp))
        if t + 1 < width:
            cur = step(model, x[:, t], state)
    out = (total * LOG2E).tolist()
    res: list[list[float]] = []
    k = 0
    for rows_g in suffixes:
        res.append(out[k : k + len(rows_g)])
        k += len(rows_g)
    return res
