"""The scripts that stay scripts (scripts/README.md lists each one, tested or not), run on
tiny inputs in this process: the model card's tables and figure, the chroma correlation,
the data-loading and training-throughput benchmarks; every shell script parses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .helpers import load_script

ROOT = Path(__file__).resolve().parents[1]


def run_main(monkeypatch, rel: str, *args: object) -> None:
    """``python REL ARGS`` in this process (its own module, sys.argv set)."""
    monkeypatch.setattr(sys, "argv", [rel, *map(str, args)])
    load_script(rel).main()


def metrics(ciede: float) -> dict[str, float]:
    keys = ("ciede2000", "acc2", "acc5", "psnr", "false_color", "colorfulness")
    return {**dict.fromkeys(keys, ciede), "colorfulness_gt": 10.0}


def test_model_card_tables_one_row_per_model_then_the_references(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    rows = {"model": metrics(6.5), "gray": metrics(9.0), "mean_chroma": metrics(7.5)}
    (tmp_path / "shipped-aid-test.json").write_text(json.dumps({"rows": rows}))
    run_main(monkeypatch, "scripts/model_card_tables.py", tmp_path, "shipped", "other")
    out = capsys.readouterr().out
    assert "| shipped | 6.50 | 6.50 | 6.50 | 6.50 | 6.500 | 6.50 (65%) |" in out
    assert "| other | (not run) |" in out and "| `mean_chroma` | 7.50" in out
    assert out.count("**") == 8  # the four sets' titles


def test_model_card_figure_on_a_tiny_model(trained, tmp_path: Path, monkeypatch) -> None:
    data, best = trained
    out = tmp_path / "figure.png"
    extra = next((data / "pond").iterdir())
    args = ["--data", data, "--split", best.parent / "split.json", "--model", f"tiny={best}"]
    args += ["--classes", "forest", "beach", "--extra", extra, "--out", out]
    run_main(monkeypatch, "scripts/model_card_figure.py", *args)
    assert out.stat().st_size > 0


def test_chroma_correlation_on_a_tiny_model(trained, monkeypatch, capsys) -> None:
    data, best = trained
    args = ["--checkpoint", best, "--data", data, "--limit", "3"]
    run_main(monkeypatch, "scripts/chroma_correlation.py", *args)
    stats = json.loads(capsys.readouterr().out)
    assert {"correlation", "spread_ratio"} <= set(stats)


def test_data_loading_benchmark_on_tiny_images(scene_tree: Path, monkeypatch, capsys) -> None:
    threads = torch.get_num_threads()
    try:
        args = ["--data", scene_tree, "--images", "6", "--crop", "32", "--batch", "2"]
        run_main(monkeypatch, "benchmarks/data_loading.py", *args)
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "6 images, crop 32" in out and "cached passes" in out


def test_train_throughput_benchmark_at_tiny_size(tmp_path: Path, capsys) -> None:
    threads = torch.get_num_threads()
    out = tmp_path / "probe.json"
    args = ["--scale", "cpu", "--device", "cpu", "--size", "32", "--ngf", "4", "--batch", "2"]
    args += ["--steps", "1", "--warmup", "0", "--methods", "jsdcgan", "--json", str(out)]
    try:
        load_script("benchmarks/train_throughput.py").main(args)
    finally:
        torch.set_num_threads(threads)
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 1 and rows[0]["images_per_s"] > 0


def calibration(rows: dict[str, tuple[float, float, float]], mean_chroma: float = 7.4) -> dict:
    """An `rscolor calibrate --out` body: rows of (CIEDE2000, colourfulness, false colour)."""
    body = {
        name: {**metrics(c), "colorfulness": col, "false_color": fc}
        for name, (c, col, fc) in rows.items()
    }
    body["mean_chroma"] = {**metrics(mean_chroma), "colorfulness": 2.0, "false_color": 0.0}
    return {"images": 600, "chosen": next(iter(rows)), "rows": body}


def test_ship_decision_pools_both_models_rows_under_the_rule(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Limit 0.9 x 7.4 = 6.66: the candidate's gain 0.9 is the most colourful clean row
    within it (its gain 1 paints false colour, the shipped model's 0.8 is less colourful)."""
    cand = calibration({"gain 0.9": (6.5, 7.0, 0.0), "gain 1": (6.6, 7.4, 0.05)})
    shipped = calibration({"gain 0.8": (6.48, 6.0, 0.0017)})
    paths = [tmp_path / "cand.json", tmp_path / "shipped.json"]
    for path, body in zip(paths, (cand, shipped), strict=True):
        path.write_text(json.dumps(body))
    run_main(
        monkeypatch, "scripts/ship_decision.py", "--candidate", paths[0], "--shipped", paths[1]
    )
    out = capsys.readouterr().out
    assert "the rule chooses candidate, gain 0.9: CIEDE2000 6.500" in out
    assert out.rstrip().endswith("ship the candidate")
    shipped["rows"]["gain 0.8"]["colorfulness"] = 7.2  # now the shipped row is richer
    paths[1].write_text(json.dumps(shipped))
    run_main(
        monkeypatch, "scripts/ship_decision.py", "--candidate", paths[0], "--shipped", paths[1]
    )
    assert capsys.readouterr().out.rstrip().endswith("keep the shipped model")
    paths[1].write_text(json.dumps(cand))  # a tie keeps the shipped model
    run_main(
        monkeypatch, "scripts/ship_decision.py", "--candidate", paths[0], "--shipped", paths[1]
    )
    assert capsys.readouterr().out.rstrip().endswith("keep the shipped model")


def test_ship_decision_refuses_calibrations_of_different_images(
    tmp_path: Path, monkeypatch
) -> None:
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(calibration({"gain 1": (6.5, 7.0, 0.0)})))
    paths[1].write_text(json.dumps(calibration({"gain 1": (6.5, 7.0, 0.0)}, mean_chroma=7.0)))
    with pytest.raises(SystemExit, match="different val images"):
        run_main(
            monkeypatch, "scripts/ship_decision.py", "--candidate", paths[0], "--shipped", paths[1]
        )


SHELL_SCRIPTS = sorted([*ROOT.glob("scripts/*.sh"), *ROOT.glob("benchmarks/*.sh")])


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script: Path) -> None:
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_scripts_readme_lists_every_script() -> None:
    readme = (ROOT / "scripts" / "README.md").read_text()
    scripts = [*ROOT.glob("scripts/*.py"), *ROOT.glob("scripts/*.sh")]
    scripts += [*ROOT.glob("benchmarks/*.py"), *ROOT.glob("benchmarks/*.sh")]
    missing = [p.name for p in scripts if f"`{p.parent.name}/{p.name}`" not in readme]
    assert not missing, f"not in scripts/README.md: {missing}"
