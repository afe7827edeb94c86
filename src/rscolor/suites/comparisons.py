"""comparisons.md / comparisons.csv: the paired difference and the verdict for each step
of the paper's tables (a method against its baseline, an ablation row against the one
before it) and against the references."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from rscolor.metrics import catalog
from rscolor.suites.methods import Method, Suite
from rscolor.suites.records import BenchmarkOptions, Runs, SuiteEvaluation
from rscolor.suites.report import diff_cell, markdown_table, to_csv
from rscolor.suites.stats import (
    UNDECIDED,
    Interval,
    combined_direction,
    overall_verdict,
    paired_bootstrap,
    paired_seed_difference,
    paper_verdict,
)
from rscolor.utils.io import atomic_write_text


@dataclass(frozen=True)
class Step:
    """A claim 'a is better than b': a step of the paper's tables (a method against a
    baseline, an ablation row against the row before it), or against a reference."""

    suite: str
    a: Method
    b: Method | str  # a method, or the name of a reference row
    paper: bool

    @property
    def b_key(self) -> str:
        return self.b if isinstance(self.b, str) else self.b.key

    @property
    def b_label(self) -> str:
        return f"`{self.b}`" if isinstance(self.b, str) else self.b.label

    def paper_diff(self, data_name: str) -> float | None:
        """The paper's acc2 of a minus b on this data set, if it reports both."""
        if isinstance(self.b, str):
            return None
        pa, pb = self.a.paper.get(data_name), self.b.paper.get(data_name)
        return None if pa is None or pb is None else pa[0] - pb[0]


def comparison_steps(suite: Suite) -> list[Step]:
    """Ablation: each row against the row before it. Comparison: the full method (the
    last row) against each baseline. Both: the last row against `mean_chroma`."""
    methods = suite.methods
    if suite.name == "ablation":
        steps = [Step(suite.name, b, a, True) for a, b in pairwise(methods)]
    else:
        steps = [Step(suite.name, methods[-1], m, True) for m in methods[:-1]]
    return steps + [Step(suite.name, methods[-1], "mean_chroma", False)]


@dataclass
class MetricComparison:
    metric: str
    over_seeds: Interval
    over_images: Interval
    verdict: str


def compare_metric(
    step: Step, metric: str, sev: SuiteEvaluation, data_name: str
) -> MetricComparison:
    a_seeds = sev.seed_values(step.a.key, metric)
    if step.b_key in sev.references.rows:
        value = sev.references.rows[step.b_key].get(metric, float("nan"))
        b_seeds = {s: value for s in a_seeds}
    else:
        b_seeds = sev.seed_values(step.b_key, metric)
    common = sorted(set(a_seeds) & set(b_seeds))
    over_seeds = paired_seed_difference(a_seeds, b_seeds)
    if common:
        over_images = paired_bootstrap(
            sev.image_values(step.a.key, metric, common),
            sev.image_values(step.b_key, metric, common),
        )
    else:
        over_images = Interval(float("nan"), float("nan"), float("nan"), 0)
    found = combined_direction(over_seeds, over_images, catalog.higher_is_better(metric))
    if step.paper:
        paper = step.paper_diff(data_name)
        verdict = paper_verdict(found, paper is None or paper > 0)
    else:
        verdict = found
    return MetricComparison(metric, over_seeds, over_images, verdict)


def step_comparisons(
    suites: list[Suite], sev: SuiteEvaluation, data_name: str
) -> list[tuple[Step, list[MetricComparison]]]:
    metrics = [m for m in catalog.COMPARED if any(sev.seed_values(k, m) for k in sev.runs)]
    return [
        (step, [compare_metric(step, m, sev, data_name) for m in metrics])
        for suite in suites
        for step in comparison_steps(suite)
    ]


def step_label(step: Step) -> str:
    return f"{step.a.label} vs {step.b_label}"


def seeds_note(comps: list[MetricComparison]) -> str:
    n = max((c.over_seeds.n for c in comps), default=0)
    return " (1 seed: images only)" if n == 1 else ""


# comparisons.csv: one row per step and metric.
CSV_FIELDS = (
    "suite",
    "a",
    "b",
    "paper_claim",
    "paper_acc2_diff",
    "metric",
    "seeds",
    "seed_diff",
    "seed_low",
    "seed_high",
    "images",
    "image_diff",
    "image_low",
    "image_high",
    "verdict",
    "step_verdict",
)


def intro_lines(sev: SuiteEvaluation) -> list[str]:
    """comparisons.md's title and what its rows, intervals and verdicts mean."""
    images = sev.references.rows.get("gray", {}).get("images", len(sev.files))
    return [
        "# Paired comparisons",
        "",
        "Each row is a claim of the paper's tables: the full method better than a baseline "
        "(Tables 1-2), an ablation row better than the row above it (Tables 3-4); and, not "
        "the paper's, the full method against `mean_chroma`. Δ = A - B (CIEDE2000: lower is "
        "better, so a negative Δ favours A; acc2: higher is better).",
        "",
        "- *over seeds*: mean of the per-seed differences (seed k of A against seed k of B: "
        "the same data order and augmentation) and its 95% Student-t interval.",
        f"- *over images*: the mean per-image difference (each method averaged over the "
        f"seeds both have) and the 95% percentile interval of a paired bootstrap over the "
        f"test images ({images} images, 4000 resamples, seeded).",
        "- Verdict per metric: *reproduced* when both intervals exclude zero on the paper's "
        "side, *reversed* when both exclude it on the other side, otherwise *not "
        "distinguishable* at this budget (with one seed only the images' interval decides, "
        "and it cannot see run-to-run noise). The step's verdict: reproduced / reversed if "
        "a metric is and none says the opposite, *mixed* if they disagree.",
    ]


def table_head(metrics: list[str]) -> list[str]:
    head = ["Step", "Paper Δacc2", "Seeds"]
    for m in metrics:
        title = catalog.title(m)
        head += [f"Δ{title} over seeds", f"Δ{title} over images", f"{title} verdict"]
    return head + ["Verdict"]


def table_row(
    step: Step, comps: list[MetricComparison], paper: float | None, overall: str
) -> list[str]:
    cells = [
        step_label(step),
        "–" if paper is None else f"{paper:+.2f}",
        str(max((c.over_seeds.n for c in comps), default=0)),
    ]
    for c in comps:
        cells += [diff_cell(c.over_seeds), diff_cell(c.over_images), c.verdict]
    return [*cells, f"**{overall}**" if overall != UNDECIDED else overall]


def csv_row(step: Step, c: MetricComparison, paper: float | None, overall: str) -> dict[str, Any]:
    return {
        "suite": step.suite,
        "a": step.a.key,
        "b": step.b_key,
        "paper_claim": step.paper,
        "paper_acc2_diff": paper,
        "metric": c.metric,
        "seeds": c.over_seeds.n,
        "seed_diff": c.over_seeds.mean,
        "seed_low": c.over_seeds.low,
        "seed_high": c.over_seeds.high,
        "images": c.over_images.n,
        "image_diff": c.over_images.mean,
        "image_low": c.over_images.low,
        "image_high": c.over_images.high,
        "verdict": c.verdict,
        "step_verdict": overall,
    }


def write_comparisons(
    opts: BenchmarkOptions, suites: list[Suite], runs: Runs, sev: SuiteEvaluation
) -> list[Path]:
    """comparisons.md / .csv: per step, A - B with a 95% interval over seeds (paired by
    seed, Student t) and over test images (paired bootstrap, seeds averaged), and the
    verdict both support."""
    data_name = opts.data.name
    results = step_comparisons(suites, sev, data_name)
    metrics = [c.metric for c in results[0][1]] if results else []
    lines = intro_lines(sev)
    csv_out: list[dict[str, Any]] = []
    for suite in suites:
        rows = []
        for step, comps in results:
            if step.suite != suite.name:
                continue
            paper = step.paper_diff(data_name)
            overall = overall_verdict([c.verdict for c in comps]) + seeds_note(comps)
            rows.append(table_row(step, comps, paper, overall))
            csv_out += [csv_row(step, c, paper, overall) for c in comps]
        lines += ["", f"## {suite.title}", "", markdown_table(table_head(metrics), rows)]
    md, csv_path = opts.out / "comparisons.md", opts.out / "comparisons.csv"
    atomic_write_text(md, "\n".join(lines) + "\n")
    atomic_write_text(csv_path, to_csv(CSV_FIELDS, csv_out))
    return [md, csv_path]
