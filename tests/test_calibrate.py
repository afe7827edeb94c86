"""Calibration (`inference/calibration.py`, `rscolor calibrate`): the shipped model's rule,
the sweep's rows, and the command on a tiny model and tiny images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rscolor.data.split import make_split
from rscolor.errors import UserError
from rscolor.inference.calibration import Rule, Setting, Sweep, calibrate, choose
from rscolor.inference.colorizer import load_colorizer

from .helpers import assert_user_error, load_script, run_cli


def row(ciede: float, colour: float, false: float = 0.0) -> dict[str, float]:
    return {
        "ciede2000": ciede,
        "colorfulness": colour,
        "colorfulness_gt": 10.0,
        "false_color": false,
    }


def test_the_rule_colour_floor_then_accuracy_limit_then_colour() -> None:
    rows = {"a": row(6.5, 5.0), "b": row(6.8, 6.0), "c": row(7.0, 7.0), "d": row(6.0, 9.0, 0.2)}
    assert choose(rows, 0.75, 0.01, 6.9) == "b"  # none reaches 7.5; d paints false colour
    assert choose(rows, 0.75, 0.01, 6.0) == "c"  # none is that accurate: the most colourful
    assert choose(rows, 0.75, 0.01) == "c"
    rows["e"] = row(6.9, 8.0)
    rows["f"] = row(6.7, 7.6)
    assert choose(rows, 0.75, 0.01, 6.9) == "f"  # two reach the floor: the more accurate
    assert choose({"d": rows["d"]}, 0.75, 0.01) is None


def test_the_rule_reproduces_the_shipped_choice() -> None:
    """docs/model-card.md: stage 3 at gain 1 passes the limit (0.9 x 7.41 = 6.669 there;
    6.673 unrounded) by 0.003; stage 2 at gain 1 is more accurate but less colourful."""
    gt = 17.13
    rows = {
        "stage1 gain 1.4": {**row(6.98, 10.59, 0.0015), "colorfulness_gt": gt},
        "stage2 gain 1": {**row(6.63, 7.21), "colorfulness_gt": gt},
        "stage3 gain 1": {**row(6.670, 9.13), "colorfulness_gt": gt},
        "stage3 gain 1.1": {**row(6.71, 9.76, 0.012), "colorfulness_gt": gt},
    }
    reference = {"mean_chroma": {"ciede2000": 7.4144}}
    rule = Rule()
    limit = rule.ciede_limit(reference)
    assert limit == pytest.approx(6.673, abs=1e-3)
    assert rule.choose(rows, limit) == "stage3 gain 1"
    assert "CIEDE2000 <= 6.673" in rule.describe(limit)
    assert Rule(max_ciede_ratio=None).ciede_limit(reference) is None


def test_the_sweep_names_its_rows_as_the_script_did() -> None:
    sweep = Sweep(gains=(1.0, 1.2), curve_strengths=(0.0, 0.5), max_chromas=(32.0,))
    names = [s.name for s in sweep.settings()]
    assert names[:4] == ["gain 1", "gain 1 cap 32", "gain 1.2", "gain 1.2 cap 32"]
    assert names[4] == "gain 1 curve 0.5"
    assert Setting(1.1, temperature=0.38).name == "T 0.38 gain 1.1"
    assert len(Sweep(temperatures=(0.38, 0.2)).settings()) == 10
    for bad, needle in [
        (Sweep(gains=(5.0,)), "--gains 5"),
        (Sweep(max_chromas=(0.0,)), "--max-chromas 0"),
        (Sweep(temperatures=(1.5,)), "--temperatures 1.5"),
        (Sweep(curve_strengths=(-1.0,)), "--curve-strengths -1"),
        (Sweep(chroma_percentile=101.0), "--chroma-percentile"),
        (Sweep(gains=()), "at least one value"),
    ]:
        with pytest.raises(UserError, match=needle):
            bad.check()


def test_calibrate_scores_every_setting_and_chooses_one(trained) -> None:
    data, best = trained
    colorizer = load_colorizer(best, "cpu")
    meta_before = colorizer.meta.to_dict()
    split = make_split(data)
    sweep = Sweep(gains=(1.0, 0.5), max_chromas=(20.0,), curve_strengths=(0.0, 1.0), fit_limit=3)
    result = calibrate(colorizer, data, split, split.val[:3], sweep, progress=False)
    assert colorizer.meta.to_dict() == meta_before  # the caller's colorizer is left as it was
    assert set(result.settings) <= set(result.rows)
    assert {"gray", "mean_chroma"} <= set(result.rows)
    assert len(result.settings) == 8 and result.images == 3
    assert result.max_chroma is not None and result.chroma_curve is not None
    rows = {k: result.rows[k] for k in result.settings}
    assert result.chosen == choose(rows, 0.75, 0.01, result.ciede_limit)
    body = json.loads(json.dumps(result.to_dict()))
    assert body["chosen"] == result.chosen and body["rows"] == result.rows
    # a lower gain is less colourful
    assert rows["gain 0.5"]["colorfulness"] < rows["gain 1"]["colorfulness"]


def test_export_args_of_a_choice() -> None:
    from rscolor.inference.calibration import Calibration

    settings = {s.name: s for s in Sweep(gains=(1.2,), max_chromas=(32.0,)).settings()}
    calib = Calibration({}, settings, "gain 1.2", Rule(), None, 40.126)
    assert calib.export_args() == ["--saturation", "1.2", "--max-chroma", "40.13"]
    calib.chosen = "gain 1.2 cap 32"
    assert calib.export_args() == ["--saturation", "1.2", "--max-chroma", "32.00"]
    calib.chosen = None
    assert calib.export_args() is None


def test_rscolor_calibrate_writes_json_once(trained, tmp_path: Path, capsys) -> None:
    data, best = trained
    out = tmp_path / "calib.json"
    args = ["calibrate", "--checkpoint", best, "--data", data, "--limit", "3", "--quiet"]
    args += ["--gains", "1,0.8", "--cap-images", "4", "--device", "cpu", "--out", out]
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    body = json.loads(out.read_text())
    assert set(body["rows"]) >= {"gain 1", "gain 0.8", "gray", "mean_chroma"}
    assert body["images"] == 3 and body["split"] == "val" and body["checkpoint"] == str(best)
    assert "chosen (false colour <= 0.01%" in stdout and f"wrote {out}" in stdout
    if body["chosen"] is not None:
        plan = load_script("benchmarks/gpu_ship_plan.py")
        assert plan.export_args(out) == body["export_args"]  # what the GPU job exports
    code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, "exists (use --force")
    code, _, err = run_cli([*args, "--force"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--split", "test"], "--split test: expected val or train"),
        (["--gains", "1,x"], "--gains '1,x': expected comma-separated numbers"),
        (["--gains", "9"], "--gains 9: expected factors in [0, 4]"),
        (["--temperatures", "0.3"], "needs a model with a 'bins' head"),
        (["--limit", "0"], "--limit 0"),
        (["--max-false-color", "200"], "--max-false-color 200: expected a percentage"),
    ],
)
def test_rscolor_calibrate_bad_input_is_one_line(trained, capsys, extra, needle) -> None:
    data, best = trained
    args = ["calibrate", "--checkpoint", best, "--data", data, "--quiet", "--device", "cpu"]
    code, _, err = run_cli([*args, *extra], capsys)
    assert_user_error(code, err, needle)


def test_rscolor_calibrate_missing_data_is_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["calibrate", "--data", tmp_path / "nowhere"], capsys)
    assert_user_error(code, err, "not a folder")


def test_rscolor_calibrate_help_names_the_rule(capsys) -> None:
    code, out, _ = run_cli(["calibrate", "--help"], capsys)
    assert code == 0
    for option in ("--gains", "--max-false-color", "--min-colorfulness", "--force", "--out"):
        assert option in out
