"""results.json from the typed results: every key, its order and its value written out by hand (the
file is what people and other tools read), the caches read back, and compare.json's recipe."""

from __future__ import annotations

import dataclasses
import json

from pipelines.comparison.efficiency import Multiplier, Spread
from pipelines.comparison.recipe import CompareRecipe, load_recipe
from pipelines.comparison.results import (
    Anchors,
    ArmFlops,
    ArmIntervals,
    ArmResult,
    ComparisonResults,
    CurvePoint,
    Efficiency,
    ExtraEvalEntry,
    Machine,
    Reading,
    SeenBytesPoint,
)
from pipelines.evaluation.anchors import MarkovResult
from pipelines.evaluation.intervals import Interval
from pipelines.evaluation.result import AnchorNumbers
from tests.paths import ROOT

RECIPE = load_recipe(ROOT / "configs" / "compare-dna.yaml", quick=True)
ANCHOR = AnchorNumbers(MarkovResult([2.0, 1.9], 100, 50), xz=3.0, zstd=2.5, compressed=50)
ANCHOR_JSON = {
    "markov": {"best_order": 1, "best_bpb": 1.9, "bpb_by_order": [2.0, 1.9], "train_bytes": 100,
               "eval_bytes": 50},
    "xz": 3.0,
    "zstd": 2.5,
    "bytes": 50,
}


GAP = Interval(0.01, 0.005, 0.015, 4)
LEPTO = ExtraEvalEntry(checkpoint="c", spec="l.gbk", bpb=3.5, predicted_bytes=256, compression=[2.0],
                       interval=Interval(3.5, 3.4, 3.6, 4), max_windows=4)


def _results(**changes: object) -> ComparisonResults:
    near = Multiplier(2.0, "=", 512.0, 256)
    far = Multiplier(1.5, ">", 1024.0, 512)
    stable = Reading(at_bytes=384, seeds=[0], per_seed=[near], spread=Spread(2.0, 2.0, 2.0, 1, "="),
                     gaps=[GAP])
    res = ComparisonResults(
        recipe=RECIPE,
        recipe_json={"budget": 512, "seeds": [0]},
        commands=["hnet-bio compare --config r.yaml --out o"],
        created="2024-01-01T00:00:00Z",
        reported="2024-01-02T00:00:00Z",
        machine=Machine("3.11.7", "2.4.0", "1.26.0", "0.1.0", "Linux-x", "x86_64", 2, 1, None),
        arms={
            "hnet1": {0: ArmResult([CurvePoint(256, 3.0, [2.0]), CurvePoint(512, 2.5, [2.5])], 1000.0, 512,
                                   True)},
            "transformer": {0: ArmResult([], None, 0, False)},
        },
        flops_per_byte={"hnet1": ArmFlops(1.0e5, 8.0e4, 100), "transformer": ArmFlops(1.1e5, 1.1e5, 90)},
        efficiency=[Efficiency("hnet1", "transformer", [far], Spread(1.5, 1.5, 1.5, 1, ">"), [None],
                               {0: [near, far]}, stable=stable, end=None)],
        anchors=Anchors(ANCHOR, [SeenBytesPoint(64, 2.25, 1)], {"lepto": ANCHOR}),
        extra_eval={"lepto": {"hnet1": {0: LEPTO}, "transformer": {}}},
        complete=False,
        intervals={"hnet1": {0: ArmIntervals(stable=None, final=Interval(2.5, 2.4, 2.6, 4))},
                   "transformer": {}},
    )
    return dataclasses.replace(res, **changes)  # type: ignore[arg-type]


def test_results_json_keys_order_and_values() -> None:
    expected = {
        "recipe": {"budget": 512, "seeds": [0]},
        "commands": ["hnet-bio compare --config r.yaml --out o"],
        "created": "2024-01-01T00:00:00Z",
        "reported": "2024-01-02T00:00:00Z",
        "machine": {"python": "3.11.7", "torch": "2.4.0", "numpy": "1.26.0", "hnet_bio": "0.1.0",
                    "platform": "Linux-x", "processor": "x86_64", "cpus": 2, "threads": 1, "cuda": None},
        "arms": {
            "hnet1": {"0": {
                "curve": [{"train_bytes": 256, "bpb": 3.0, "compression": [2.0]},
                          {"train_bytes": 512, "bpb": 2.5, "compression": [2.5]}],
                "bytes_per_s": 1000.0, "train_bytes": 512, "completed": True,
                "final_bpb": 2.5, "final_compression": [2.5],
            }},
            "transformer": {"0": {"curve": [], "bytes_per_s": None, "train_bytes": 0, "completed": False,
                                  "final_bpb": None, "final_compression": []}},
        },
        "flops_per_byte": {"hnet1": {"at_target": 1.0e5, "at_reached": 8.0e4, "params": 100},
                           "transformer": {"at_target": 1.1e5, "at_reached": 1.1e5, "params": 90}},
        "efficiency": [{
            "reference": "hnet1",
            "baseline": "transformer",
            "per_seed": [{"value": 1.5, "bound": ">", "text": "more than 1.50x", "baseline_bytes": 1024.0,
                          "reference_bytes": 512}],
            "spread": {"median": 1.5, "min": 1.5, "max": 1.5, "n": 1, "bound": ">"},
            "gap_bpb_at_equal_bytes": [None],
            "curve": {"0": [
                {"reference_bytes": 256, "value": 2.0, "bound": "=", "text": "2.00x",
                 "baseline_bytes": 512.0},
                {"reference_bytes": 512, "value": 1.5, "bound": ">", "text": "more than 1.50x",
                 "baseline_bytes": 1024.0},
            ]},
            "stable_phase": {
                "at_bytes": 384, "seeds": [0],
                "per_seed": [{"value": 2.0, "bound": "=", "text": "2.00x", "baseline_bytes": 512.0,
                              "reference_bytes": 256}],
                "spread": {"median": 2.0, "min": 2.0, "max": 2.0, "n": 1, "bound": "="},
                "gap_bpb": [{"value": 0.01, "low": 0.005, "high": 0.015, "n": 4, "level": 0.95}],
            },
            "end": None,
        }],
        "anchors": {
            "held_out": ANCHOR_JSON,
            "markov_on_seen_bytes": [{"train_bytes": 64, "bpb": 2.25, "best_order": 1}],
            "extra": {"lepto": ANCHOR_JSON},
        },
        "extra_eval": {"lepto": {"hnet1": {"0": 3.5}, "transformer": {}}},
        "extra_eval_intervals": {"lepto": {"hnet1": {"0": {"value": 3.5, "low": 3.4, "high": 3.6, "n": 4,
                                                           "level": 0.95}},
                                           "transformer": {}}},
        "intervals": {"hnet1": {"0": {
            "stable_phase": None, "final": {"value": 2.5, "low": 2.4, "high": 2.6, "n": 4, "level": 0.95}}},
                      "transformer": {}},
        "stable_end": RECIPE.stable_end(),
        "complete": False,
    }
    # Compared as text: the same keys in the same order with the same values, as the file is written.
    assert json.dumps(_results().to_json(), indent=2) == json.dumps(expected, indent=2)


def test_before_any_evaluation_anchors_are_an_empty_object() -> None:
    got = _results(anchors=None, extra_eval={}, efficiency=[]).to_json()
    assert got["anchors"] == {} and got["extra_eval"] == {} and got["efficiency"] == []


def test_caches_read_back() -> None:
    """anchors.json and extra_eval.json are read back into the same values, written the same way."""
    anchors = _results().anchors
    assert anchors is not None
    text = json.dumps(anchors.to_json())
    assert Anchors.from_json(json.loads(text)) == anchors
    assert json.dumps(Anchors.from_json(json.loads(text)).to_json()) == text
    entry = ExtraEvalEntry(checkpoint="runs/a/checkpoints/step_4", spec=["x.fa", "y.fa"], bpb=3.5,
                           predicted_bytes=256, compression=[2.0], interval=Interval(3.5, 3.25, 3.75, 2),
                           max_windows=2)
    assert entry.to_json() == {"checkpoint": "runs/a/checkpoints/step_4", "spec": ["x.fa", "y.fa"],
                               "bpb": 3.5, "bytes": 256, "compression": [2.0],
                               "interval": {"value": 3.5, "low": 3.25, "high": 3.75, "n": 2, "level": 0.95},
                               "max_windows": 2}
    assert ExtraEvalEntry.from_json(json.loads(json.dumps(entry.to_json()))) == entry
    # An entry cached before intervals existed reads back without one (and is measured again).
    old = {k: v for k, v in entry.to_json().items() if k not in ("interval", "max_windows")}
    assert ExtraEvalEntry.from_json(old).interval is None


def test_recipe_read_back_from_compare_json() -> None:
    """compare.json records `CompareRecipe.to_json`; from_json gives the same recipe (its FLOP-matched
    arms included) and the recorded evaluation points follow from it."""
    recorded = json.loads(json.dumps(RECIPE.to_json()))
    back = CompareRecipe.from_json(recorded)
    assert back == RECIPE
    assert back.to_json() == recorded
    assert back.eval_points() == recorded["eval_points"] and back.step_bytes() == recorded["step_bytes"]
    assert back.stable_end() == recorded["stable_end"] and back.stable_end() in back.eval_points()
    assert [a.hierarchical for a in back.arms] == [True, False, False, False, False]  # 1 H-Net, 4 isotropic
    assert [a.matched_to for a in back.arms] == [None, "hnet1", "hnet1", "hnet1", "hnet1"]
