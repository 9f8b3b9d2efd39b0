"""Train/eval splits that never share a byte: by whole file, by whole record, or by tail cuts.

Holding out whole files (strains) is the honest split for genomes: two windows of the same
chromosome are not independent, so evaluating on a held-out *region* of a training genome would
flatter the model. But a whole-item split is only what a user asked for when there are enough
items for ``eval_fraction`` of them to be at least one: a Klebsiella genome (chromosome + two
plasmids) split by record holds out one plasmid, a few windows, and calls it 5%. Then every
record gives up its contiguous tail instead, which is what a user expects of "hold out 5%".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

SPLITS = ("train", "eval", "all")
T = TypeVar("T")


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
    units: list[Unit], split: str, eval_fraction: float = 0.05, seed: int = 0, by_group: bool = False,
    tail_when_few: bool = False, min_eval_bytes: int = 0, held_group: str = "",
) -> list[Unit]:
    """Units of ``split``. Rules, first that applies:

    0. ``held_group`` (with ``by_group``): every file of that group (a whole genus) is eval; train is
       what rule 1 trains on outside that group, so a model trained on it has seen neither the
       held-out group nor rule 1's held-out files, and both are honest tests of it.
    1. ``by_group``: within each group (species) of >= 2 source files, one file (chosen by ``seed``) is eval.
    2. >= 2 source files (and, with ``tail_when_few``, ``eval_fraction * n >= 1``):
       ``round(eval_fraction * n)`` whole files (at least 1, at most n-1) are eval.
    3. one file with >= 2 records (same condition over records): the same, over whole records.
    4. otherwise: the last ``eval_fraction`` of the bytes of every unit is eval, the rest train.

    ``min_eval_bytes`` (e.g. one evaluation window) applies to rule 4: if no unit's tail would reach
    it, the longest unit's tail is lengthened to it, provided as much stays for training.
    :func:`describe_held_out` says in words which rule applied.
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
        if held_group:
            if held_group not in groups:
                raise ValueError(f"held-out group {held_group!r} is not among the groups {sorted(groups)}")
            if split == "eval":
                return [u for u in units if u.group == held_group]
            return [u for u in units if u.group != held_group and u.source not in held]
        return [u for u in units if (u.source in held) == (split == "eval")]
    rule = split_rule(units, eval_fraction, tail_when_few)
    if rule == "files":
        held = set(_choose(sources, eval_fraction, rng))
        return [u for u in units if (u.source in held) == (split == "eval")]
    if rule == "records":
        held_idx = set(_choose(list(range(len(units))), eval_fraction, rng))
        return [u for i, u in enumerate(units) if (i in held_idx) == (split == "eval")]
    tails = tail_lengths(units, eval_fraction, min_eval_bytes)
    out = []
    for unit, n_eval in zip(units, tails):
        cut = unit.length - n_eval
        part = replace(unit, length=cut) if split == "train" else replace(unit, offset=unit.offset + cut,
                                                                          length=n_eval)
        if part.length > 0:
            out.append(part)
    return out


def split_rule(units: list[Unit], eval_fraction: float, tail_when_few: bool = False) -> str:
    """``"files"``, ``"records"`` or ``"tails"``: which of rules 2-4 of :func:`split_units` applies."""
    n_sources = len({u.source for u in units})
    if n_sources >= 2 and (not tail_when_few or eval_fraction * n_sources >= 1):
        return "files"
    if n_sources == 1 and len(units) >= 2 and (not tail_when_few or eval_fraction * len(units) >= 1):
        return "records"
    return "tails"


def tail_lengths(units: list[Unit], eval_fraction: float, min_eval_bytes: int = 0) -> list[int]:
    """Held-out tail length of each unit under rule 4 (0 for a unit too short to give any)."""
    tails = [min(max(1, round(eval_fraction * u.length)), u.length - 1) if u.length >= 2 else 0
             for u in units]
    if min_eval_bytes > 0 and units and max(tails) < min_eval_bytes:
        longest = max(range(len(units)), key=lambda i: units[i].length)
        if units[longest].length >= 2 * min_eval_bytes:
            tails[longest] = min_eval_bytes
    return tails


def describe_held_out(units: list[Unit], eval_fraction: float, seed: int = 0, by_group: bool = False,
                      tail_when_few: bool = False, min_eval_bytes: int = 0, held_group: str = "") -> str:
    """One line for the user: what the held-out split is, in their terms (files, records, tails)."""
    how = (eval_fraction, seed, by_group, tail_when_few, min_eval_bytes, held_group)
    ev = split_units(units, "eval", *how)
    total = sum(u.length for u in units) or 1
    held = sum(u.length for u in ev)
    share = f"{held:,} of {total:,} bytes, {100 * held / total:.1f}%"
    if held_group:
        train = sum(u.length for u in split_units(units, "train", *how))
        return (f"held out the whole group {held_group}: {len({u.source for u in ev})} files ({share}); "
                f"training leaves out one more file per other group as well "
                f"({train:,} bytes, {100 * train / total:.1f}%, are trained on)")
    rule = "files" if by_group else split_rule(units, eval_fraction, tail_when_few)
    if rule == "files":
        names = sorted({u.source.rsplit("/", 1)[-1] for u in ev})
    elif rule == "records":
        names = [u.name for u in ev]
    if rule != "tails":
        shown = ", ".join(names[:4]) + (f", ... ({len(names)} in all)" if len(names) > 4 else "")
        return f"held out whole {rule}: {shown} ({share})"
    tails = tail_lengths(units, eval_fraction, min_eval_bytes)
    raised = [u.name for u, t in zip(units, tails)
              if t == min_eval_bytes and t > round(eval_fraction * u.length)]
    note = (f"; the tail of {raised[0]!r} was lengthened to one evaluation window ({min_eval_bytes:,} bytes)"
            if raised else "")
    n_files = len({u.source for u in units})
    if len(units) == 1:
        who = f"record {units[0].name!r}"
    elif len(units) == n_files:
        who = f"each of the {n_files} files"
    else:
        who = f"each of the {len(units)} records" + (f" in {n_files} files" if n_files > 1 else "")
    return f"held out the last {100 * eval_fraction:g}% of {who} ({share}){note}"


def _choose(items: list[T], fraction: float, rng: np.random.Generator) -> list[T]:
    n = len(items)
    k = min(max(1, round(fraction * n)), n - 1)
    picks = sorted(rng.choice(n, size=k, replace=False).tolist())
    return [items[i] for i in picks]
