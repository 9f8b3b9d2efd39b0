"""Train/eval splits that never share a byte: by whole file, by whole record, or by a tail cut.

Holding out whole files (strains) is the honest split for genomes: two windows of the same
chromosome are not independent, so evaluating on a held-out *region* of a training genome would
flatter the model. Only a corpus of a single record falls back to a contiguous tail region.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

SPLITS = ("train", "eval", "all")


@dataclass(frozen=True)
class Unit:
    """A stretch of a cache bin: bytes ``[offset, offset + length)`` of ``bin_path``."""

    name: str
    source: str
    bin_path: str
    offset: int
    length: int
    group: str = ""


def split_units(
    units: list[Unit], split: str, eval_fraction: float = 0.05, seed: int = 0, by_group: bool = False
) -> list[Unit]:
    """Units of ``split``. Rules, first that applies:

    1. ``by_group``: within each group (species) of >= 2 source files, one file (chosen by ``seed``) is eval.
    2. >= 2 source files: ``round(eval_fraction * n)`` whole files (at least 1, at most n-1) are eval.
    3. one file with >= 2 records: the same, over whole records.
    4. one record: its last ``eval_fraction`` of bytes is eval, the rest train.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction}")
    if split == "all" or not units:
        return list(units)
    rng = np.random.default_rng(seed)
    sources = list(dict.fromkeys(u.source for u in units))
    if by_group:
        groups: dict[str, list[str]] = {}
        for u in units:
            members = groups.setdefault(u.group, [])
            if u.source not in members:
                members.append(u.source)
        held = {members[int(rng.integers(len(members)))] for _, members in sorted(groups.items())
                if len(members) >= 2}
        return [u for u in units if (u.source in held) == (split == "eval")]
    if len(sources) >= 2:
        held = set(_choose(sources, eval_fraction, rng))
        return [u for u in units if (u.source in held) == (split == "eval")]
    if len(units) >= 2:
        held_idx = set(_choose(list(range(len(units))), eval_fraction, rng))
        return [u for i, u in enumerate(units) if (i in held_idx) == (split == "eval")]
    (unit,) = units
    n_eval = min(max(1, round(eval_fraction * unit.length)), unit.length - 1)
    cut = unit.length - n_eval
    if split == "train":
        return [replace(unit, length=cut)]
    return [replace(unit, offset=unit.offset + cut, length=n_eval)]


def _choose(items: list, fraction: float, rng: np.random.Generator) -> list:
    n = len(items)
    k = min(max(1, round(fraction * n)), n - 1)
    picks = sorted(rng.choice(n, size=k, replace=False).tolist())
    return [items[i] for i in picks]
