"""`rscolor benchmark` end to end on tiny data: one split, every method trained and scored
on the same images, tables / per-class / figure written, finished runs reused, a killed
suite continued, user mistakes refused in one line."""

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from rscolor.cli.main import main
from rscolor.data.split import Split, class_of
from rscolor.errors import UserError
from rscolor.suites import ABLATION, COMPARE, BenchmarkOptions, run_suite
from rscolor.suites import methods as suites_mod
from rscolor.suites.figure import pick_figure_files
from rscolor.suites.runner import suite_settings
from rscolor.training.trainer import Trainer, TrainingDiverged

from .helpers import TINY

CLASSES = {"beach", "forest", "pond"}


def options(data: Path, out: Path, suite: str, **kw) -> BenchmarkOptions:
    return BenchmarkOptions(
        data=data, out=out, suite=suite, extra=TINY, progress=False, device="cpu", **kw
    )


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_compare_suite_end_to_end_then_reuse(
    scene_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bench"
    result = run_suite(options(scene_tree, out, "compare", max_train_images=12))
    keys = [m.key for m in COMPARE.methods]
    assert result.trained == [f"{k} seed 0" for k in keys]

    # One manifest, thinned evenly: every class keeps training images; test untouched.
    split = Split.load(out / "split.json")
    assert len(split.train) == 12 and {class_of(f) for f in split.train} == CLASSES
    assert len(split.test) == 6 and result.test_files == split.test
    for key in keys:
        run = out / "runs" / key / "seed-0"
        assert (run / "split.json").read_text() == (out / "split.json").read_text()
        assert json.loads((run / "done.json").read_text())["status"] == "done"

    table = (out / "table.md").read_text()
    for label in [m.label for m in COMPARE.methods] + ["`gray`", "`mean_chroma`"]:
        assert f"| {label} |" in table
    assert "--max-train-images 12" in table and "6 of 6" in table
    rows = csv_rows(out / "table.csv")
    assert [r["method"] for r in rows] == [*keys, "gray", "mean_chroma"]
    assert all(r["images"] == "6" and float(r["ciede2000"]) > 0 for r in rows)
    assert int(rows[0]["d_params"]) == 0 and int(rows[1]["d_params"]) > 0  # U-Net has no D
    assert all(float(r["train_seconds"]) > 0 for r in rows[: len(keys)])

    per_class = csv_rows(out / "per_class.csv")
    assert len(per_class) == len(CLASSES) * (len(keys) + 2)
    assert {r["class"] for r in per_class} == CLASSES
    md = (out / "per_class.md").read_text()
    assert all(f"| {c} |" in md for c in CLASSES) and "Classes each method gets wrong" in md

    with Image.open(out / "figure.png") as fig:
        assert fig.format == "PNG" and fig.width > fig.height  # 8 columns, 6 rows

    # Second invocation: nothing is trained again, the checkpoints are untouched.
    stamps = {k: (out / "runs" / k / "seed-0" / "best.pt").stat().st_mtime_ns for k in keys}
    monkeypatch.setattr(Trainer, "fit", lambda *a, **k: pytest.fail("retrained a finished run"))
    again = run_suite(options(scene_tree, out, "compare", max_train_images=12))
    assert again.trained == []
    assert stamps == {k: (out / "runs" / k / "seed-0" / "best.pt").stat().st_mtime_ns for k in keys}
    assert csv_rows(out / "table.csv") == rows
    assert not (out / ".lock").exists()


def test_killed_suite_continues_and_divergence_is_reported(
    scene_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bench"
    real_fit, real_step = Trainer.fit, Trainer.train_step

    def killed_at_lcfe(self, resume=False):
        if self.cfg.method == "ablation-lcfe":
            raise KeyboardInterrupt
        return real_fit(self, resume)

    def diverging(self, *batch):
        if self.cfg.method == "ablation-joint":
            raise TrainingDiverged("loss became NaN/inf (test)")
        return real_step(self, *batch)

    monkeypatch.setattr(Trainer, "train_step", diverging)
    monkeypatch.setattr(Trainer, "fit", killed_at_lcfe)
    with pytest.raises(KeyboardInterrupt):
        run_suite(options(scene_tree, out, "ablation", max_test_images=4))
    assert not (out / ".lock").exists()
    assert (out / "runs" / "ablation-concat" / "seed-0" / "done.json").is_file()
    assert not (out / "runs" / "ablation-lcfe" / "seed-0" / "done.json").exists()

    # A run killed after its last epoch but before done.json is resumed, not retrained.
    (out / "runs" / "ablation-single" / "seed-0" / "done.json").unlink()
    best = out / "runs" / "ablation-single" / "seed-0" / "best.pt"
    stamp = best.stat().st_mtime_ns

    monkeypatch.setattr(Trainer, "fit", real_fit)
    result = run_suite(options(scene_tree, out, "ablation", max_test_images=4))
    assert result.trained == ["ablation-single seed 0", "ablation-lcfe seed 0", "jsdcgan seed 0"]
    assert best.stat().st_mtime_ns == stamp
    assert result.runs["ablation-single"][0].record.epochs == 1

    rows = {r["method"]: r for r in csv_rows(out / "table.csv")}
    assert rows["ablation-joint"]["status"] == "diverged" and rows["ablation-joint"]["acc2"] == ""
    assert rows["ablation-lcfe"]["status"] == "done" and rows["ablation-lcfe"]["images"] == "4"
    table = (out / "table.md").read_text()
    assert "Joint stream (diverged)" in table and "loss became NaN/inf (test)" in table
    assert "| J-S + LCFE + GSM |" in table


def test_a_second_suite_in_the_same_folder_reuses_the_shared_run(
    scene_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compare, then ablation into one folder: the full JS-DCGAN is trained once, and the
    tables cover both suites."""
    out = tmp_path / "bench"
    trained: list[str] = []
    real_fit = Trainer.fit

    def counting(self, resume=False):
        trained.append(self.cfg.method)
        return real_fit(self, resume)

    monkeypatch.setattr(Trainer, "fit", counting)
    monkeypatch.setattr(
        suites_mod, "SUITES", {"compare": _one(COMPARE), "ablation": _one(ABLATION)}
    )
    run_suite(options(scene_tree, out, "compare", max_test_images=3))
    run_suite(options(scene_tree, out, "ablation", max_test_images=3))
    assert trained == ["jsdcgan", "ablation-lcfe"]
    table = (out / "table.md").read_text()
    assert "## Comparison" in table and "## Ablation" in table
    assert [r["suite"] for r in csv_rows(out / "table.csv")] == [
        "compare", "ablation", "ablation", "reference", "reference"
    ]  # fmt: skip


def _one(suite):
    """The suite cut to its last two methods (shorter to train)."""
    from dataclasses import replace

    return replace(
        suite, methods=suite.methods[-2:] if suite.name == "ablation" else suite.methods[-1:]
    )


def test_a_folder_with_other_settings_is_refused(scene_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    out.mkdir()
    first = options(scene_tree, out, "compare", epochs=1)
    (out / "suite.json").write_text(json.dumps({**suite_settings(first), "suites": ["compare"]}))
    with pytest.raises(UserError, match="another budget"):
        run_suite(options(scene_tree, out, "compare", epochs=2))
    other = tmp_path / "not-a-bench"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a benchmark folder"):
        run_suite(options(scene_tree, other, "compare"))
    assert (other / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--suite", "everything"], "unknown suite"),
        (["--scale", "huge"], "unknown scale"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--seeds", "0"], "--seeds must be at least 1"),
    ],
)
def test_cli_mistakes_are_one_line_errors(
    scene_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    out = tmp_path / "bench"
    with pytest.raises(SystemExit) as exc:
        main(["benchmark", "--data", str(scene_tree), "--out", str(out), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rscolor: error:") and message in err and "\n" not in err
    assert not out.exists()


def test_figure_images_come_from_different_classes() -> None:
    files = [f"c{c:02d}/img{i}.jpg" for c in range(30) for i in range(3)]
    picked = pick_figure_files(files, 6)
    assert len({class_of(f) for f in picked}) == 6
    assert class_of(picked[0]) == "c00" and class_of(picked[-1]) == "c29"
    few = [f"{c}/img{i}.jpg" for c in "abc" for i in range(4)]
    picked = pick_figure_files(few, 6)
    assert len(picked) == 6 and sorted(class_of(f) for f in picked) == list("aabbcc")


def _pair(suite):
    """The comparison cut to U-Net and the full method (two quick methods)."""
    from dataclasses import replace

    return replace(suite, methods=(suite.methods[0], suite.methods[-1]))


def test_seeds_change_the_runs_and_are_recorded(
    scene_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bench"
    monkeypatch.setattr(suites_mod, "SUITES", {"compare": _pair(COMPARE), "ablation": ABLATION})
    result = run_suite(options(scene_tree, out, "compare", seeds=2))
    assert result.trained == ["unet seed 0", "jsdcgan seed 0", "unet seed 1", "jsdcgan seed 1"]
    assert json.loads((out / "suite.json").read_text())["seeds"] == [0, 1]
    for key in ("unet", "jsdcgan"):
        for seed in (0, 1):
            run = out / "runs" / key / f"seed-{seed}"
            assert json.loads((run / "done.json").read_text())["config"]["train"]["seed"] == seed
            assert f"seed: {seed}" in (run / "config.yaml").read_text()
            assert (run / "split.json").read_text() == (out / "split.json").read_text()
    # Different seeds, different networks: the per-image scores differ.
    per_seed = result.seeds.runs["jsdcgan"]
    scores = [[rec["jsdcgan"]["ciede2000"] for rec in per_seed[s].per_image] for s in (0, 1)]
    assert scores[0] != scores[1]

    table = (out / "table.md").read_text()
    assert "train.seed 0, 1" in table and " ± " in table and "| Ours (JS-DCGAN) | 2 |" in table
    rows = {r["method"]: r for r in csv_rows(out / "table.csv")}
    js = rows["jsdcgan"]
    assert js["seeds"] == "2" and float(js["ciede2000_ci_low"]) <= float(js["ciede2000"])
    assert float(js["ciede2000"]) <= float(js["ciede2000_ci_high"])
    assert rows["mean_chroma"]["ciede2000_ci_low"] == ""  # a reference has no seeds
    runs_csv = csv_rows(out / "runs.csv")
    assert [(r["method"], r["seed"]) for r in runs_csv] == [
        ("unet", "0"), ("unet", "1"), ("jsdcgan", "0"), ("jsdcgan", "1")
    ]  # fmt: skip
    mean = (float(runs_csv[2]["ciede2000"]) + float(runs_csv[3]["ciede2000"])) / 2
    assert float(js["ciede2000"]) == pytest.approx(mean, rel=1e-4)

    comparisons = (out / "comparisons.md").read_text()
    assert "| Ours (JS-DCGAN) vs U-Net |" in comparisons and "vs `mean_chroma`" in comparisons
    comp = csv_rows(out / "comparisons.csv")
    assert {(r["b"], r["metric"]) for r in comp} == {
        (b, m) for b in ("unet", "mean_chroma") for m in ("ciede2000", "acc2")
    }
    assert all(r["seeds"] == "2" and r["images"] == "6" for r in comp)
    verdicts = {"reproduced", "reversed", "not distinguishable", "better", "worse"}
    assert all(r["verdict"] in verdicts for r in comp)
    with Image.open(out / "curves.png") as fig:
        assert fig.format == "PNG"


def test_a_killed_multi_seed_suite_resumes_and_grows(
    scene_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bench"
    monkeypatch.setattr(suites_mod, "SUITES", {"compare": _pair(COMPARE), "ablation": ABLATION})
    real_fit = Trainer.fit
    trained: list[tuple[str, int]] = []

    def killed_at_second_seed(self, resume=False):
        if (self.cfg.method, self.cfg.train.seed) == ("jsdcgan", 1):
            raise KeyboardInterrupt
        trained.append((self.cfg.method, self.cfg.train.seed))
        return real_fit(self, resume)

    monkeypatch.setattr(Trainer, "fit", killed_at_second_seed)
    with pytest.raises(KeyboardInterrupt):
        run_suite(options(scene_tree, out, "compare", seeds=2))
    assert trained == [("unet", 0), ("jsdcgan", 0), ("unet", 1)]  # seed by seed
    assert not (out / ".lock").exists() and not (out / "table.md").exists()

    # Only finished runs, without training: the killed seed is left out of the tables.
    report = run_suite(options(scene_tree, out, "compare", seeds=2, report_only=True))
    assert report.trained == []
    assert {r["method"]: r["seeds"] for r in csv_rows(out / "table.csv")}["jsdcgan"] == "1"

    monkeypatch.setattr(Trainer, "fit", real_fit)
    stamp = (out / "runs" / "unet" / "seed-1" / "best.pt").stat().st_mtime_ns
    again = run_suite(options(scene_tree, out, "compare", seeds=2))
    assert again.trained == ["jsdcgan seed 1"]
    assert (out / "runs" / "unet" / "seed-1" / "best.pt").stat().st_mtime_ns == stamp
    assert {r["method"]: r["seeds"] for r in csv_rows(out / "table.csv")}["jsdcgan"] == "2"

    # More seeds later: only the new seed is trained.
    grown = run_suite(options(scene_tree, out, "compare", seeds=3))
    assert grown.trained == ["unet seed 2", "jsdcgan seed 2"]
    assert all(r["seeds"] == "3" for r in csv_rows(out / "comparisons.csv"))


def test_jobs_train_runs_in_worker_processes(
    scene_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    out = tmp_path / "bench"
    one = replace(COMPARE, methods=(COMPARE.methods[0],))  # U-Net only: quick
    monkeypatch.setattr(suites_mod, "SUITES", {"compare": one, "ablation": ABLATION})
    result = run_suite(options(scene_tree, out, "compare", seeds=2, jobs=2))
    assert sorted(result.trained) == ["unet seed 0", "unet seed 1"]
    assert all(r.record and r.record.status == "done" for r in result.runs["unet"])
    assert [r["seed"] for r in csv_rows(out / "runs.csv")] == ["0", "1"]


def test_stored_evaluations_are_reused_until_the_metrics_change(
    scene_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from rscolor.suites import evaluate as suite_eval

    out = tmp_path / "bench"
    one = replace(COMPARE, methods=(COMPARE.methods[0],))
    monkeypatch.setattr(suites_mod, "SUITES", {"compare": one, "ablation": ABLATION})
    run_suite(options(scene_tree, out, "compare", seeds=2, max_test_images=3))
    calls: list[tuple[str, ...]] = []
    real = suite_eval.evaluate_images

    def counting(colorizers, *args, **kwargs):
        calls.append(tuple(colorizers))
        return real(colorizers, *args, **kwargs)

    monkeypatch.setattr(suite_eval, "evaluate_images", counting)
    run_suite(options(scene_tree, out, "compare", seeds=2, max_test_images=3, report_only=True))
    assert calls == []  # every evaluation read back from eval.json
    names = suite_eval.metric_names()
    monkeypatch.setattr(suite_eval, "metric_names", lambda: sorted([*names, "false_color"]))
    run_suite(options(scene_tree, out, "compare", seeds=2, max_test_images=3, report_only=True))
    assert calls == [("unet",), ("unet",), ()]  # two runs and the references, scored again
