"""The benchmark's error bars against hand-computed small cases: the Student-t interval of
a mean over seeds, the paired difference over seeds, the paired bootstrap over images,
and the verdicts they give a step of the paper's tables."""

import itertools
import math

import numpy as np
import pytest

from rscolor.metrics.evaluate import EvalResult
from rscolor.suites.comparisons import Step, compare_metric, comparison_steps
from rscolor.suites.methods import ABLATION, COMPARE, Method
from rscolor.suites.records import SuiteEvaluation
from rscolor.suites.report import metric_cell, table_metrics
from rscolor.suites.stats import (
    BETTER,
    UNDECIDED,
    WORSE,
    Interval,
    combined_direction,
    direction,
    mean_ci,
    overall_verdict,
    paired_bootstrap,
    paired_seed_difference,
    paper_verdict,
)

T_975_2 = 4.302652729911275  # Student t, 97.5th percentile, 2 degrees of freedom
T_975_1 = 12.706204736174704  # 1 degree of freedom


def test_mean_ci_by_hand() -> None:
    # 1, 2, 3: mean 2, sd 1, se 1/sqrt(3): half-width t(0.975, 2) / sqrt(3) = 2.4841
    ci = mean_ci([1.0, 2.0, 3.0])
    assert ci.mean == pytest.approx(2.0) and ci.n == 3
    assert ci.half_width == pytest.approx(T_975_2 / math.sqrt(3))
    assert (ci.low, ci.high) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)
    # 7.0, 7.4: mean 7.2, sd 0.2828, se 0.2: half-width 12.7062 * 0.2 = 2.5412
    ci = mean_ci([7.0, 7.4])
    assert ci.mean == pytest.approx(7.2) and ci.half_width == pytest.approx(T_975_1 * 0.2)
    one = mean_ci([5.0])
    assert one.mean == 5.0 and one.n == 1 and not one.known and not one.excludes_zero()
    assert mean_ci([]).n == 0 and math.isnan(mean_ci([]).mean)
    assert mean_ci([2.0, float("nan"), 4.0]).n == 2  # a missing value is left out
    assert metric_cell(mean_ci([1.0, 2.0, 3.0]), "acc2") == "2.00 ± 2.48"
    assert metric_cell(one, "ssim") == "5.000"


def test_paired_seed_difference_pairs_seed_by_seed() -> None:
    a = {0: 7.0, 1: 7.5, 2: 6.9, 3: 9.9}
    b = {0: 7.2, 1: 7.75, 2: 7.05}  # seed 3 of a has no partner: left out
    d = paired_seed_difference(a, b)  # -0.2, -0.25, -0.15: mean -0.2, sd 0.05
    assert d.n == 3 and d.mean == pytest.approx(-0.2)
    assert d.half_width == pytest.approx(T_975_2 * 0.05 / math.sqrt(3))  # 0.1242
    assert (
        d.high == pytest.approx(-0.0758, abs=1e-4)
        and direction(d, higher_is_better=False) == BETTER
    )
    assert direction(d, higher_is_better=True) == WORSE
    # -0.2, -0.1, -0.3 (sd 0.1): half-width 0.248, the interval [-0.448, 0.048] holds zero
    wide = paired_seed_difference(a, {0: 7.2, 1: 7.6, 2: 7.2})
    assert wide.high == pytest.approx(0.0484, abs=1e-4) and direction(wide, False) == UNDECIDED


def exact_bootstrap_quantiles(d: list[float], q: tuple[float, float]) -> tuple[float, float]:
    """Every one of the n^n equally likely resamples, enumerated: the exact bootstrap
    distribution of the mean, and its quantiles."""
    means = sorted(np.mean(c) for c in itertools.product(d, repeat=len(d)))
    return float(np.quantile(means, q[0])), float(np.quantile(means, q[1]))


def test_paired_bootstrap_by_hand() -> None:
    # A constant difference: every resample's mean is that difference.
    ci = paired_bootstrap([3.0, 4.0, 5.0], [2.5, 3.5, 4.5])
    assert ci.mean == pytest.approx(0.5) and (ci.low, ci.high) == pytest.approx((0.5, 0.5))
    # Two images, differences 0 and 2: resample means 0, 1, 2 with chances 1/4, 1/2, 1/4,
    # so the 2.5th percentile is 0 and the 97.5th is 2.
    ci = paired_bootstrap([1.0, 5.0], [1.0, 3.0])
    assert ci.mean == pytest.approx(1.0) and (ci.low, ci.high) == (0.0, 2.0)
    assert not ci.excludes_zero()  # low == 0 is not excluded
    # Four images: against the exact distribution of all 4^4 = 256 resamples.
    a, b = [1.0, 2.0, 4.0, 9.0], [1.0, 1.0, 1.0, 1.0]
    ci = paired_bootstrap(a, b, resamples=20000)
    exact = exact_bootstrap_quantiles([x - y for x, y in zip(a, b, strict=True)], (0.025, 0.975))
    assert ci.mean == pytest.approx(np.mean(a) - 1.0)
    assert (ci.low, ci.high) == pytest.approx(exact, abs=0.26)  # one step of the 1/4 grid
    # Seeded: the same call gives the same interval.
    assert paired_bootstrap(a, b) == paired_bootstrap(a, b)
    assert paired_bootstrap([2.0], [1.0]).n == 1 and not paired_bootstrap([2.0], [1.0]).known


def test_verdicts() -> None:
    sure = Interval(-0.5, -0.8, -0.2, 3)
    unsure = Interval(-0.1, -0.4, 0.2, 3)
    assert combined_direction(sure, sure, higher=False) == BETTER
    assert combined_direction(sure, unsure, higher=False) == UNDECIDED  # both must agree
    assert combined_direction(Interval(-0.5, math.nan, math.nan, 1), sure, False) == BETTER
    assert paper_verdict(BETTER) == "reproduced" and paper_verdict(WORSE) == "reversed"
    assert paper_verdict(UNDECIDED) == UNDECIDED
    assert overall_verdict(["reproduced", UNDECIDED]) == "reproduced"
    assert overall_verdict(["reproduced", "reversed"]) == "mixed"
    assert overall_verdict([UNDECIDED, UNDECIDED]) == UNDECIDED


def test_comparison_steps_follow_the_papers_tables() -> None:
    compare = comparison_steps(COMPARE)
    assert [(s.a.key, s.b_key) for s in compare][:5] == [
        ("jsdcgan", k) for k in ("unet", "patchgan", "dcgan", "multid", "multig")
    ]
    ablation = comparison_steps(ABLATION)
    keys = [m.key for m in ABLATION.methods]
    assert [(s.a.key, s.b_key) for s in ablation if s.paper] == list(
        zip(keys[1:], keys[:-1], strict=True)
    )
    assert compare[-1].b_key == "mean_chroma" and not compare[-1].paper
    assert ablation[0].paper_diff("AID") == pytest.approx(25.14 - 23.42)


def fake_evaluation(values: dict[str, list[list[float]]], mean_chroma: list[float]):
    """SuiteEvaluation from per-seed, per-image CIEDE2000 values."""
    files = [f"c/{i}.png" for i in range(len(mean_chroma))]

    def result(key: str, per_image: list[float]) -> EvalResult:
        recs = [
            {"file": f, "class": "c", key: {"ciede2000": v}}
            for f, v in zip(files, per_image, strict=True)
        ]
        return EvalResult({key: {"ciede2000": float(np.mean(per_image))}}, recs)

    runs = {k: {s: result(k, v) for s, v in enumerate(seeds)} for k, seeds in values.items()}
    refs = result("mean_chroma", mean_chroma)
    return SuiteEvaluation(files, runs, refs)


def test_compare_metric_reproduced_reversed_undistinguished() -> None:
    a, b = Method("new", "New"), Method("old", "Old")
    step = Step("compare", a, b, True)
    base = [8.0, 7.0, 9.0, 6.0, 8.5, 7.5]
    better = [[x - 0.5 + 0.01 * s for x in base] for s in range(3)]
    sev = fake_evaluation({"new": better, "old": [base, base, base]}, base)
    got = compare_metric(step, "ciede2000", sev, "AID")
    assert got.over_seeds.n == 3 and got.over_seeds.mean == pytest.approx(-0.49)
    assert got.over_images.n == 6 and got.verdict == "reproduced"
    sev = fake_evaluation({"new": [base] * 3, "old": better}, base)
    assert compare_metric(step, "ciede2000", sev, "AID").verdict == "reversed"
    # The seeds disagree (one much better, one much worse): not distinguishable.
    noisy = [[x - 1.0 for x in base], [x + 1.2 for x in base], base]
    sev = fake_evaluation({"new": noisy, "old": [base] * 3}, base)
    assert compare_metric(step, "ciede2000", sev, "AID").verdict == UNDECIDED
    # Against a reference the verdict is better / worse, not the paper's words.
    ref = compare_metric(Step("compare", a, "mean_chroma", False), "ciede2000",
                         fake_evaluation({"new": better}, base), "AID")  # fmt: skip
    assert ref.verdict == BETTER


def test_table_metrics_show_whatever_the_rows_hold() -> None:
    rows = [{"acc2": 1.0, "ciede2000": 2.0, "zeta": 0.1, "images": 3, "colorfulness_gt": 9.0},
            {"false_color": 4.0, "acc5": 1.0}]  # fmt: skip
    assert table_metrics(rows) == ["acc2", "acc5", "ciede2000", "false_color", "zeta"]


def test_curve_band_is_mean_and_range_over_seeds_per_epoch() -> None:
    from rscolor.suites.curves import curve_band

    seed0 = [{"epoch": 1.0, "val_ciede2000": 9.0}, {"epoch": 2.0, "val_ciede2000": 7.0}]
    seed1 = [{"epoch": 1.0, "val_ciede2000": 8.0}]  # cut after one epoch
    seed2 = [{"epoch": 1.0, "val_ciede2000": 10.0}, {"epoch": 2.0, "val_ciede2000": 8.0}]
    epochs, mean, low, high, seeds = curve_band([seed0, seed1, seed2], "val_ciede2000")
    assert epochs.tolist() == [1, 2] and seeds == 3
    assert mean.tolist() == [9.0, 7.5] and low.tolist() == [8.0, 7.0]
    assert high.tolist() == [10.0, 8.0]
