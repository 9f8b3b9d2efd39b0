"""The browser's zero-shot scores: off by default, then the log-likelihood track and the ISM heatmap
of the tiny model, equal to what pipelines.scoring computes directly."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.scoring_view import ism_figure, track_figure
from hnet_bio.checkpoint import load_pretrained
from hnet_bio.lm import HNetLM
from pipelines.inputs import Item
from pipelines.scoring.ism import saturation_mutagenesis
from pipelines.scoring.likelihood import sequence_track
from pipelines.scoring.variant_files import read_genome
from tests.paths import DATA, ROOT

ECOLI = DATA / "ecoli_MG1655_20kb.fa"


def test_figures_carry_the_scores(tiny_checkpoints: Mapping[str, Path]) -> None:
    model, _ = load_pretrained(tiny_checkpoints["dna"])
    assert isinstance(model, HNetLM)
    seq = read_genome(ECOLI)["ecoli_MG1655"][:300]
    item = Item("x", seq, str(ECOLI), "ecoli_MG1655", 1000, "+")
    track = sequence_track(model, seq, 256, 192)
    fig = track_figure(item, track)
    assert list(fig.data[0].x[:2]) == [1001, 1002]
    np.testing.assert_allclose(np.asarray(fig.data[0].y, dtype=float)[1:], track.log_prob[1:])
    res = saturation_mutagenesis(model, {"page": seq}, "page", 100, 120, flank=64)
    heat = ism_figure(item, res)
    np.testing.assert_allclose(np.asarray(heat.data[0].z, dtype=float), res.delta.T)
    assert heat.data[0].x[0] == 1101


def test_browser_scores_switch_on(
    tiny_checkpoints: Mapping[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HNET_BIO_BROWSE_CHECKPOINT", str(tiny_checkpoints["dna"]))
    monkeypatch.setenv("HNET_BIO_BROWSE_DATA", str(ECOLI))
    monkeypatch.setenv("HNET_BIO_BROWSE_REGION", "ecoli_MG1655:1-400")
    monkeypatch.delenv("HNET_BIO_BROWSE_POSITION", raising=False)
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.run()
    before = len(list(at.get("plotly_chart")))
    at.toggle(key="main-score-on").set_value(True).run()
    assert not at.exception and not at.error
    assert len(list(at.get("plotly_chart"))) == before + 1
    at.number_input(key="main-ism-len").set_value(20).run()
    at.button(key="main-ism-run").click().run()
    assert not at.exception and not at.error
    assert len(list(at.get("plotly_chart"))) == before + 2
