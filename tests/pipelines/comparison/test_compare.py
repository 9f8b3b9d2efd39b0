"""`hnet-bio compare` end to end on tests/data with the tiny configs: every output file, resume
after an interruption without retraining finished arms, a partial report, and one-line errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from hnet_bio import build_model
from hnet_bio.config import HNetConfig
from pipelines.cli import main
from pipelines.comparison import runner
from pipelines.comparison.recipe import POINTS_PER_DECADE, load_recipe, model_flops, with_depth
from pipelines.comparison.runner import RunLock, compare
from pipelines.runs.records import TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training.hooks import TrainingHooks
from pipelines.training.schedule import wsd_factor
from tests.paths import DATA, ROOT

DNA = [str(DATA / f) for f in ("ecoli_MG1655_20kb.fa", "saureus_N315_20kb.fa", "vcholerae_O395_20kb.fa")]
OUTPUTS = (
    "compare.json",
    "results.json",
    "report.md",
    "report.html",
    "anchors.json",
    "curves.png",
    "curves_last_decade.png",
    "chunks.png",
    "throughput.png",
    "multiplier.png",
)


def _recipe(tmp: Path, **changes: object) -> Path:
    recipe = {
        "data": {"corpus": DNA, "eval_fraction": 0.3},
        "train": {
            "seq_len": 64,
            "batch_size": 2,
            "lr": 3e-3,
            "warmup_steps": 2,
            "log_every": 2,
            "eval_windows": 4,
            "eval_window_scores": True,
        },
        "budget": 8192,
        "seeds": [0],
        "arms": {
            "hnet1": {"model": str(ROOT / "configs" / "tiny-1stage.json")},
            "transformer": {
                "model": str(ROOT / "configs" / "compare" / "iso-transformer.json"),
                "match_flops": "hnet1",
            },
        },
        "eval_data": {"lepto": str(DATA / "leptospira_excerpt.gbk")},
        "anchors": {"max_order": 3},
        "quick": {"budget": 2048},
    }
    recipe.update(changes)
    path = tmp / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


class Interrupt(Exception):
    """Raised by the test's on_step hook to end a compare run mid-arm, like a crash."""


def _steps(calls: list[int]) -> TrainingHooks:
    return TrainingHooks(on_step=lambda rec: calls.append(rec.step))


def test_quick_compare_resume_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe, out = _recipe(tmp_path), tmp_path / "out"
    calls: list[int] = []

    def crash(rec: TrainRecord) -> None:
        calls.append(rec.step)
        if len(calls) == 16 + 9:  # arm 1 has 16 steps; crash in the middle of arm 2
            raise Interrupt

    with pytest.raises(Interrupt):
        compare(recipe, out, quick=True, verbose=False, hooks=TrainingHooks(on_step=crash))
    first = RunDir(out / "runs" / "hnet1-seed0")
    done_metrics = first.metrics_path.read_bytes()
    assert first.summary().completed

    # A partial report from what exists (arm 2 stopped at step 9, its last checkpoint at step 8).
    assert main(["compare", "--report-only", "--out", str(out), "-q"]) == 0
    partial = json.loads((out / "results.json").read_text())
    assert not partial["complete"] and "Partial report" in (out / "report.md").read_text()

    calls.clear()
    res = compare(recipe, out, quick=True, verbose=False, hooks=_steps(calls)).results
    assert calls == list(range(9, 17))  # arm 1 skipped, arm 2 resumed after its step-8 checkpoint
    assert first.metrics_path.read_bytes() == done_metrics
    assert res is not None and res.complete
    assert json.loads((out / "results.json").read_text()) == res.to_json()
    for name in OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name

    # Same training windows and evaluation points for every arm; >= 8 points per decade at the end.
    evals = {
        arm: [r["train_bytes"] for r in RunDir(out / "runs" / f"{arm}-seed0").read_metrics("eval")]
        for arm in ("hnet1", "transformer")
    }
    assert evals["hnet1"] == evals["transformer"] and evals["hnet1"][-1] == 2048
    last_decade = [b for b in evals["hnet1"] if b >= 2048 / 10]
    assert len(last_decade) >= 8
    assert len(res.recipe.eval_points()) >= POINTS_PER_DECADE * math.log10(2048 / 128)
    assert res.to_json()["recipe"]["eval_points"] == res.recipe.eval_points()

    # Every number the report needs is in results.json, and the HTML needs no other file.
    assert {e.baseline for e in res.efficiency} == {"transformer"}
    fl = res.flops_per_byte
    assert fl["transformer"].at_target == pytest.approx(fl["hnet1"].at_target, rel=0.35)
    assert res.anchors is not None and res.anchors.held_out.markov.eval_bytes == 4 * 64
    assert res.extra_eval["lepto"]["hnet1"][0].bpb > 0

    # Per-window scores: logged at every evaluation, their mean is the logged bits/byte; the
    # intervals hold the value; the both-way reading sits at the end of the stable phase.
    stable = res.recipe.stable_end()
    assert stable in evals["hnet1"] and stable < 2048
    for rec in RunDir(out / "runs" / "hnet1-seed0").eval_records():
        assert rec.eval_window_bpb is not None and len(rec.eval_window_bpb) == 4
        assert sum(rec.eval_window_bpb) / 4 == pytest.approx(rec.eval_bpb, abs=1e-5)
    final = res.intervals["hnet1"][0].final
    assert final is not None and final.low <= final.value <= final.high
    assert final.value == pytest.approx(res.arms["hnet1"][0].final_bpb, abs=1e-5)
    e = res.efficiency[0]
    assert e.stable is not None and e.stable.at_bytes == stable and e.end is not None
    gap = e.stable.gaps[0]
    h_at, t_at = res.arms["hnet1"][0].at(stable), res.arms["transformer"][0].at(stable)
    assert gap is not None and h_at is not None and t_at is not None
    assert gap.value == pytest.approx(t_at.bpb - h_at.bpb, abs=1e-5) and gap.low <= gap.value <= gap.high
    lepto = res.extra_eval["lepto"]["hnet1"][0].interval
    assert lepto is not None and lepto.n == 4

    # scripts/variant_vs_compare.py reads a run against the baselines as the report does: on the
    # reference arm's own run directory it gives the report's numbers.
    got = subprocess.run([sys.executable, str(ROOT / "scripts" / "variant_vs_compare.py"), str(out),
                          str(out / "runs" / "hnet1-seed0")], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert f"| {h_at.bpb:.4f} | {res.arms['hnet1'][0].final_bpb:.4f} |" in got
    assert f"{e.stable.per_seed[0].text()} ({gap.text(4, signed=True)}) / {e.end.per_seed[0].text()}" in got
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5 and 'src="http' not in page
    md = (out / "report.md").read_text()
    assert "multiplier" in md and "Data efficiency, read both ways" in md and "with 95% intervals" in md

    # Running it once more trains nothing.
    calls.clear()
    compare(recipe, out, quick=True, verbose=False, hooks=_steps(calls))
    assert calls == []


def _bad(tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    assert main(["compare", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_bad_recipes_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    tiny = str(ROOT / "configs" / "tiny-1stage.json")
    iso = str(ROOT / "configs" / "compare" / "iso-transformer.json")
    cases = [
        (
            {"arms": {"hnet1": {"model": tiny}, "t": {"model": iso, "match_flops": "hnet3"}}},
            "unknown arm 'hnet3'",
        ),
        ({"reference": ["nope"]}, "reference arm 'nope'"),
        ({"arms": {"hnet1": {"model": str(tmp_path / "missing.json")}}}, "model config not found"),
        ({"budget": 100}, "smaller than one training step"),
    ]
    for changes, needle in cases:
        _bad(tmp_path, capsys, ["--config", str(_recipe(tmp_path, **changes)), "--out", str(out)], needle)
    # Arms that predict different byte vocabularies cannot be compared.
    other = json.loads(Path(iso).read_text())
    other["vocab_size"] = 512
    (tmp_path / "v512.json").write_text(json.dumps(other))
    arms = {"hnet1": {"model": tiny}, "t": {"model": str(tmp_path / "v512.json")}}
    _bad(
        tmp_path,
        capsys,
        ["--config", str(_recipe(tmp_path, arms=arms)), "--out", str(out)],
        "different vocabularies",
    )
    _bad(
        tmp_path,
        capsys,
        ["--config", str(_recipe(tmp_path)), "--out", str(out), "--budget", "64"],
        "smaller than one training step",
    )
    _bad(tmp_path, capsys, ["--config", str(_recipe(tmp_path)), "--out", str(out), "--seeds", "a"], "--seeds")
    assert not out.exists()  # nothing written for bad input
    # An existing non-empty directory that is not a compare directory is left alone.
    out.mkdir()
    (out / "precious.txt").write_text("x")
    _bad(tmp_path, capsys, ["--config", str(_recipe(tmp_path)), "--out", str(out)], "not a compare directory")
    _bad(tmp_path, capsys, ["--report-only", "--out", str(out)], "not a compare directory")
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_recipes_in_configs_load_and_match_flops() -> None:
    """The shipped recipes resolve; the matched arms are the closest depth to the H-Net's FLOPs or
    parameters (checked against the depths either side), and each decade has its evaluations."""
    for name in ("compare-dna.yaml", "compare-audio.yaml"):
        for quick in (False, True):
            r = load_recipe(ROOT / "configs" / name, quick=quick)
            seq = r.train_config(0).seq_len
            for arm in r.arms:
                if arm.matched_to is None:
                    continue
                size = ((lambda m, n=seq: model_flops(m, n)) if arm.match_flops
                        else (lambda m: float(_count_params(m))))
                target = size(r.arm(arm.matched_to).model)
                depth = int(arm.model["arch_layout"][0][1:])
                got = size(arm.model)
                for other in (depth - 1, depth + 1):
                    if other >= 1:
                        assert abs(got - target) <= abs(size(with_depth(arm.model, other)) - target), arm.name
            assert len([b for b in r.eval_points() if b >= r.budget / 10]) >= r.points_per_decade
    dna = load_recipe(ROOT / "configs" / "compare-dna.yaml")
    assert {a.name: a.match_params for a in dna.arms if a.match_params} == {
        "transformer-params": "hnet1", "mamba-params": "hnet1"}


def _count_params(model: dict[str, object]) -> int:
    """Parameters of a model built on the CPU for real (independent of the recipe's meta-device count)."""
    torch.manual_seed(0)
    model_obj = build_model(HNetConfig.from_dict(json.loads(json.dumps(model))))
    return sum(p.numel() for p in model_obj.parameters())


def test_stable_end_is_the_last_step_at_the_peak_learning_rate(tmp_path: Path) -> None:
    """`stable_end` agrees with the schedule the loop runs: the learning-rate factor is 1 on the step
    that ends there and below 1 on the next; the curve is evaluated there."""
    r = load_recipe(ROOT / "configs" / "compare-dna.yaml")
    t, steps = r.train_config(0), r.budget_end() // r.step_bytes()
    last_stable = r.stable_end() // r.step_bytes()  # steps done when the stable phase ends
    factor = [wsd_factor(s, steps, t.warmup_steps or 0, steps - last_stable, t.min_lr_ratio) for s in
              (last_stable - 1, last_stable)]
    assert factor[0] == 1.0 and factor[1] < 1.0
    assert steps - last_stable == round(t.decay_fraction * steps)
    assert r.stable_end() in r.pretrain_config(r.arms[0], 0).train.eval_at_bytes


def test_arms_subset_and_a_locked_arm_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--arms trains only the named arms; an arm whose lock another process holds is not touched."""
    recipe, out = _recipe(tmp_path, quick={"budget": 256}), tmp_path / "out"
    _bad(
        tmp_path,
        capsys,
        ["--config", str(recipe), "--out", str(out), "--quick", "--arms", "hnet9"],
        "unknown arm 'hnet9'",
    )
    steps: list[int] = []
    compare(recipe, out, quick=True, verbose=False, only_arms=["hnet1"], hooks=_steps(steps))
    assert steps == [1, 2] and not (out / "runs" / "transformer-seed0").exists()
    with RunLock(out / "runs" / "transformer-seed0.lock") as held:
        assert held
        res = compare(recipe, out, quick=True, verbose=False, hooks=_steps(steps)).results
    assert steps == [1, 2] and res is not None and not res.complete  # hnet1 done earlier, transformer locked
    assert not (out / "runs" / "transformer-seed0").exists()


def test_a_hook_or_a_signal_stops_compare_without_an_exception(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """should_stop mid-arm: the arm checkpoints, compare returns a stopped outcome and writes no
    report; the same command resumes the arm. A SIGTERM through the CLI: exit 130, "interrupted"."""
    recipe, out = _recipe(tmp_path, quick={"budget": 512}), tmp_path / "out"  # 4 steps per arm
    steps: list[int] = []
    stop_at_2 = TrainingHooks(on_step=lambda rec: steps.append(rec.step),
                              should_stop=lambda rec: rec.step == 2)
    outcome = compare(recipe, out, quick=True, verbose=False, only_arms=["hnet1"], hooks=stop_at_2)
    run = RunDir(out / "runs" / "hnet1-seed0")
    assert outcome.stopped and outcome.stopped_by == "hook" and outcome.stopped_run == run.path
    assert steps == [1, 2] and run.latest_checkpoint() == run.checkpoint_path(2)
    assert not run.summary().completed and not (out / "results.json").exists()
    outcome = compare(recipe, out, quick=True, verbose=False, only_arms=["hnet1"], hooks=_steps(steps))
    assert steps == [1, 2, 3, 4] and not outcome.stopped and run.summary().completed

    def sigterm_at_step_2(self: runner.ArmProgress, rec: TrainRecord) -> None:
        if rec.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(runner.ArmProgress, "step", sigterm_at_step_2)
    capsys.readouterr()
    assert main(["compare", "--config", str(recipe), "--out", str(out), "--quick", "-q"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "hnet-bio: interrupted"
    other = RunDir(out / "runs" / "transformer-seed0")
    assert other.summary().stopped_by == "SIGTERM" and other.latest_checkpoint() == other.checkpoint_path(2)
