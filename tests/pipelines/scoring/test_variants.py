"""Variant deltas against independent truth: each window run alone, in float64, summed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hnet_bio.lm import HNetLM, IsotropicLM
from modalities.iupac import reverse_complement
from pipelines.scoring.variants import score_variants
from pipelines.scoring.windows import Variant


def _ll(model: HNetLM | IsotropicLM, seq: bytes) -> float:
    """log2-likelihood of bytes 1..L-1 of ``seq``, one unpadded forward, by hand."""
    x = torch.tensor([list(seq)])
    with torch.no_grad():
        logits = model(x).logits[0].double()
    logp = torch.log_softmax(logits[:-1], -1)[torch.arange(len(seq) - 1), x[0, 1:]]
    return float(logp.sum()) / math.log(2)


def _truth(
    model: HNetLM | IsotropicLM, genome: dict[str, np.ndarray], v: Variant, flank: int
) -> tuple[float, float]:
    seq = genome[v.chrom].tobytes()
    a, e = v.pos - flank, v.pos + len(v.ref) + flank
    ref = seq[a:e]
    alt = seq[a : v.pos] + v.alt.encode() + seq[v.pos + len(v.ref) : e]
    fwd = _ll(model, alt) - _ll(model, ref)
    rc = _ll(model, reverse_complement(alt)) - _ll(model, reverse_complement(ref))
    return fwd, rc


def _variants(genome: dict[str, np.ndarray], flank: int) -> list[Variant]:
    s = genome["chrA"].tobytes().decode()
    n = len(s)
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    return [
        Variant("chrA", flank, s[flank], other[s[flank]]),  # first usable base
        Variant("chrA", n - flank - 1, s[n - flank - 1], other[s[n - flank - 1]]),  # last usable base
        Variant("chrA", 100, s[100], other[s[100]]),
        Variant("chrA", 100, s[100], other[other[s[100]]]),  # second ALT at the same site
        Variant("chrA", 150, s[150:153], s[150]),  # 2-base deletion
        Variant("chrA", 200, s[200], s[200] + "GATTACA"),  # insertion
        Variant("chrA", 220, s[220:224], "TT"),  # complex
    ]


@pytest.mark.parametrize("reuse_prefix", [False, True])
def test_delta_equals_independent_forwards(
    model64: HNetLM | IsotropicLM, genome: dict[str, np.ndarray], reuse_prefix: bool
) -> None:
    flank = 20
    vs = _variants(genome, flank)
    got = score_variants(model64, genome, vs, flank=flank, batch_size=5, reuse_prefix=reuse_prefix)
    for v, s in zip(vs, got):
        assert s.status == "ok"
        fwd, rc = _truth(model64, genome, v, flank)
        assert s.dll_fwd == pytest.approx(fwd, abs=1e-9)
        assert s.dll_rc == pytest.approx(rc, abs=1e-9)
        assert s.dll == pytest.approx((fwd + rc) / 2, abs=1e-9)
    assert any(abs(s.dll_fwd - s.dll_rc) > 1e-6 for s in got)  # the strands do differ


def test_statuses(model64: HNetLM | IsotropicLM, genome: dict[str, np.ndarray]) -> None:
    s = genome["chrA"].tobytes().decode()
    wrong = {"A": "C", "C": "G", "G": "T", "T": "A"}[s[50]]
    cases = {
        "ok": Variant("chrA", 50, s[50], wrong),
        "missing_contig": Variant("chrZ", 50, "A", "C"),
        "ref_mismatch": Variant("chrA", 50, wrong, s[50]),
        "symbolic_alt": Variant("chrA", 50, s[50], "<DEL>"),
        "breakend_alt": Variant("chrA", 50, s[50], "N[chrB:10["),
        "no_alt": Variant("chrA", 50, s[50], "*"),
        "bad_allele": Variant("chrA", 50, s[50], "R"),
        "near_end": Variant("chrA", 5, s[5], wrong),
        "indel_too_long": Variant("chrA", 100, s[100], s[100] + "A" * 51),
    }
    got = score_variants(model64, genome, list(cases.values()), flank=10)
    assert [g.status for g in got] == list(cases)
    assert all(math.isnan(g.dll) for g in got[1:]) and not math.isnan(got[0].dll)
    # just inside / just outside the flank at both ends
    edge = [
        Variant("chrB", 10, genome["chrB"][10:11].tobytes().decode(), "N"),
        Variant("chrB", 9, genome["chrB"][9:10].tobytes().decode(), "N"),
        Variant("chrB", 79, genome["chrB"][79:80].tobytes().decode(), "N"),
        Variant("chrB", 80, genome["chrB"][80:81].tobytes().decode(), "N"),
    ]
    assert [g.status for g in score_variants(model64, genome, edge, flank=10)] == [
        "ok",
        "near_end",
        "ok",
        "near_end",
    ]
