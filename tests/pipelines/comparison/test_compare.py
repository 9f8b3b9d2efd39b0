"""`hnet-bio compare` end to end on tests/data with the tiny configs: every output file, resume
after an interruption without retraining finished arms, a partial report, and one-line errors."""

from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path

import pytest
import yaml

from pipelines.cli import main
from pipelines.comparison import runner
from pipelines.comparison.recipe import POINTS_PER_DECADE, load_recipe, model_flops, with_depth
from pipelines.comparison.runner import RunLock, compare
from pipelines.runs.records import TrainRecord
from pipelines.runs.run_dir import RunDir
from pipelines.training.hooks import TrainingHooks
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
    assert res.extra_eval["lepto"]["hnet1"][0] > 0
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5 and 'src="http' not in page
    assert "multiplier" in (out / "report.md").read_text()

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
    """The shipped recipes resolve; the matched arms are within one layer of the H-Net's FLOPs."""
    for name in ("compare-dna.yaml", "compare-audio.yaml"):
        for quick in (False, True):
            r = load_recipe(ROOT / "configs" / name, quick=quick)
            seq = r.train_config(0).seq_len
            target = model_flops(r.arm("hnet1").model, seq)
            for arm in ("transformer", "mamba"):
                m = r.arm(arm).model
                depth = int(m["arch_layout"][0][1:])
                got = model_flops(m, seq)
                for other in (depth - 1, depth + 1):
                    if other >= 1:
                        assert abs(got - target) <= abs(model_flops(with_depth(m, other), seq) - target)
            assert len([b for b in r.eval_points() if b >= r.budget / 10]) >= 8


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
