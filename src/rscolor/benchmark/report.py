"""The benchmark's tables: table.md / table.csv in the paper's form (acc2, acc5) plus the
further metrics, and the per-class breakdown (per_class.md / per_class.csv)."""

from __future__ import annotations

import csv
import io
import math
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rscolor.benchmark.stats import (
    HIGHER_IS_BETTER,
    UNDECIDED,
    Interval,
    combined_direction,
    mean_ci,
    overall_verdict,
    paired_bootstrap,
    paired_seed_difference,
    paper_verdict,
)
from rscolor.benchmark.suites import Method, Suite, unique_methods
from rscolor.data.split import Split
from rscolor.metrics.evaluate import EvalResult
from rscolor.utils.io import atomic_write_text

if TYPE_CHECKING:
    from rscolor.benchmark.runner import BenchmarkOptions, MethodRun, Runs, SuiteEvaluation

REFERENCES = ("gray", "mean_chroma")
# Known metrics in table order; any other metric a row holds follows, sorted by name.
METRIC_ORDER = ("acc2", "acc5", "psnr", "ssim", "ciede2000", "false_color", "colorfulness",
                "colorfulness_gap")  # fmt: skip
NOT_TABLED = {"images", "colorfulness_gt"}
METRIC_TITLES = {"acc2": "acc2", "acc5": "acc5", "psnr": "PSNR", "ssim": "SSIM",
                 "ciede2000": "CIEDE2000", "false_color": "False colour %",
                 "colorfulness": "Colorfulness",
                 "colorfulness_gap": "Colorfulness gap"}  # fmt: skip
DIGITS = {"ssim": 3, "colorfulness": 1, "colorfulness_gap": 1}
RUN_FIELDS = ("g_params", "d_params", "train_seconds", "epochs", "best_epoch")
PAPER_FIELDS = ("paper_acc2", "paper_acc5")
PER_CLASS_METRICS = ("acc2", "acc5", "psnr", "ssim", "ciede2000", "false_color", "colorfulness")


def table_metrics(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The metrics the rows hold, known ones in METRIC_ORDER, then the rest by name."""
    present = {k for row in rows for k, v in row.items() if isinstance(v, (int, float))}
    present -= NOT_TABLED
    known = [m for m in METRIC_ORDER if m in present]
    return known + sorted(present - set(known))


def num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def params_text(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k"


def duration_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def status_of(runs: list[MethodRun]) -> str:
    """done / diverged for a method's runs, or a count of each when they differ."""
    statuses = [r.record.status for r in runs if r.record is not None]
    if not statuses:
        return "missing"
    if len(set(statuses)) == 1:
        return statuses[0]
    return ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))


def label_of(runs: list[MethodRun], label: str) -> str:
    status = status_of(runs)
    return label if status == "done" else f"{label} ({status})"


def finished(runs: list[MethodRun]) -> list[MethodRun]:
    return [r for r in runs if r.record is not None]


def metric_cell(interval: Interval, metric: str) -> str:
    """'mean ± half-width of the 95% interval', the mean alone for one value."""
    digits = DIGITS.get(metric, 2)
    if interval.n == 0:
        return "–"
    if not interval.known:
        return num(interval.mean, digits)
    return f"{num(interval.mean, digits)} ± {num(interval.half_width, digits)}"


def diff_cell(interval: Interval, digits: int = 2) -> str:
    if interval.n == 0:
        return "–"
    if not interval.known:
        return f"{interval.mean:+.{digits}f}"
    return f"{interval.mean:+.{digits}f} [{interval.low:+.{digits}f}, {interval.high:+.{digits}f}]"


# -------------------------------------------------------------- table.md/csv
def header_lines(
    opts: BenchmarkOptions, runs: Runs, split: Split, test_files: list[str]
) -> list[str]:
    cfg = next(iter(runs.values()))[0].cfg
    r = split.ratios
    overrides = [
        f"--{k.replace('_', '-')} {v}"
        for k, v in (
            ("epochs", opts.epochs),
            ("max_train_images", opts.max_train_images),
            ("max_steps_per_epoch", opts.max_steps_per_epoch),
            ("max_test_images", opts.max_test_images),
        )
        if v is not None
    ]
    if opts.extra:
        overrides.append(f"config overrides {opts.extra}")
    test_note = (
        "the whole test split"
        if len(test_files) == len(split.test)
        else "evenly spaced over the test split"
    )
    done = [run for rs in runs.values() for run in finished(rs)]
    devices = sorted({run.record.device for run in done if run.record})
    seeds = sorted({run.seed for rs in runs.values() for run in rs})
    eval_at = (
        "whole images" if cfg.data.eval_size is None else f"{cfg.data.eval_size} px centre crops"
    )
    return [
        f"# Benchmark on {opts.data.name}, scale `{opts.scale}`",
        "",
        f"- Data: `{opts.data}`, {len(split.classes())} classes; split {r[0]}:{r[1]}:{r[2]} "
        f"per class (seed {split.seed}) in `split.json`: {len(split.train)} train, "
        f"{len(split.test)} test, {len(split.val)} val images; every method trained on the "
        "same train images.",
        f"- Test images scored: {len(test_files)} of {len(split.test)} ({test_note}), {eval_at}; "
        "every method on the same images.",
        f"- Budget, the same for every method: {cfg.data.crop_size} px crops, batch "
        f"{cfg.train.batch_size}, {cfg.train.epochs} epoch{'s' if cfg.train.epochs != 1 else ''}"
        + (
            f" of at most {cfg.train.max_steps_per_epoch} steps"
            if cfg.train.max_steps_per_epoch
            else ""
        )
        + f", configs `configs/*-{opts.scale}.yaml`. Overrides: "
        + (", ".join(overrides) if overrides else "none")
        + ".",
        f"- Seeds: every method trained with train.seed {', '.join(map(str, seeds))} "
        f"({len(seeds)} run{'s' if len(seeds) != 1 else ''} per method, same split; the "
        "`Seeds` column counts the finished runs tabled). A cell is the mean over the seeds "
        "± the half-width of its 95% confidence interval (Student t, n - 1 degrees of "
        "freedom); one seed gives the value alone. Every run: `runs.csv`; paired "
        "differences and verdicts: `comparisons.md`.",
        f"- Trained on {', '.join(devices) or '–'} (torch {torch.__version__}, "
        f"{platform.machine()}); train time = mean over the seeds of the sum of epoch wall "
        f"times, per-epoch validation included; best epoch (per seed) by validation "
        f"{cfg.train.select_metric}.",
        "- acc2 / acc5: % of pixels within the paper's Eq. 5 thresholds (higher is better); PSNR, "
        "SSIM on RGB; CIEDE2000: mean colour difference (lower is better); colorfulness "
        "(Hasler & Süsstrunk) of the output and its gap to the ground truth's.",
        "- `gray` (input L, no chroma) and `mean_chroma` (input L + the training split's mean "
        "a, b) are trivial colorizers: a method that does not beat them has learnt little.",
        f"- Written {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
    ]


def method_intervals(sev: SuiteEvaluation, key: str, metrics: list[str]) -> dict[str, Interval]:
    """metric -> mean and 95% interval over the method's seeds (a reference: its value)."""
    if key in sev.references.rows:
        row = sev.references.rows[key]
        return {m: mean_ci([row[m]] if m in row else []) for m in metrics}
    return {m: mean_ci(list(sev.seed_values(key, m).values())) for m in metrics}


def best_epochs(runs: list[MethodRun]) -> str:
    done = [r.record for r in finished(runs) if r.record and r.record.best_epoch > 0]
    if not done:
        return "–"
    return f"{', '.join(str(r.best_epoch) for r in done)} / {max(r.epochs for r in done)}"


def suite_section(suite: Suite, runs: Runs, sev: SuiteEvaluation, data_name: str) -> str:
    with_paper = any(data_name in m.paper for m in suite.methods)
    keys = [m.key for m in suite.methods] + list(REFERENCES)
    metrics = table_metrics(row for k in keys for row in seed_and_ref_rows(sev, k))
    head = ["Method", "Seeds", *(METRIC_TITLES.get(m, m) for m in metrics),
            "G params", "Train time", "Best epoch"]  # fmt: skip
    if with_paper:
        head += ["Paper acc2", "Paper acc5"]
    rows = []
    for method in suite.methods:
        method_runs = runs[method.key]
        done = [r.record for r in finished(method_runs) if r.record]
        intervals = method_intervals(sev, method.key, metrics)
        cells = [label_of(method_runs, method.label), str(len(sev.seed_rows(method.key)))]
        cells += [metric_cell(intervals[m], m) for m in metrics]
        cells += [
            params_text(done[0].g_params),
            duration_text(float(np.mean([r.seconds for r in done]))),
            best_epochs(method_runs),
        ]
        if with_paper:
            paper = method.paper.get(data_name)
            cells += [num(paper[0]), num(paper[1])] if paper else ["–", "–"]
        rows.append(cells)
    for ref in REFERENCES:
        intervals = method_intervals(sev, ref, metrics)
        cells = [f"`{ref}`", "–", *(metric_cell(intervals[m], m) for m in metrics)]
        rows.append(cells + ["–", "–", "–"] + (["–", "–"] if with_paper else []))
    return f"## {suite.title}\n\n" + markdown_table(head, rows)


def seed_and_ref_rows(sev: SuiteEvaluation, key: str) -> list[dict[str, float]]:
    if key in sev.references.rows:
        return [sev.references.rows[key]]
    return list(sev.seed_rows(key).values())


def interval_fields(metric: str, interval: Interval) -> dict[str, Any]:
    return {
        metric: interval.mean if interval.n else None,
        f"{metric}_ci_low": interval.low if interval.known else None,
        f"{metric}_ci_high": interval.high if interval.known else None,
    }


def csv_fields(metrics: list[str]) -> tuple[str, ...]:
    per_metric = [f for m in metrics for f in (m, f"{m}_ci_low", f"{m}_ci_high")]
    return ("suite", "method", "label", "status", "seeds", *per_metric, "colorfulness_gt",
            "images", *RUN_FIELDS, *PAPER_FIELDS)  # fmt: skip


def csv_rows(
    suites: list[Suite], runs: Runs, sev: SuiteEvaluation, data_name: str, metrics: list[str]
) -> list[dict[str, Any]]:
    out = []
    for suite in suites:
        for method in suite.methods:
            done = [r.record for r in finished(runs[method.key]) if r.record]
            paper = method.paper.get(data_name, (None, None))
            rows = list(sev.seed_rows(method.key).values())
            intervals = method_intervals(sev, method.key, metrics)
            row: dict[str, Any] = {
                "suite": suite.name, "method": method.key, "label": method.label,
                "status": status_of(runs[method.key]), "seeds": len(rows),
                "colorfulness_gt": rows[0].get("colorfulness_gt") if rows else None,
                "images": rows[0].get("images") if rows else None,
                "g_params": done[0].g_params, "d_params": done[0].d_params,
                "train_seconds": float(np.mean([r.seconds for r in done])),
                "epochs": max(r.epochs for r in done),
                "best_epoch": ";".join(str(r.best_epoch) for r in done),
                "paper_acc2": paper[0], "paper_acc5": paper[1],
            }  # fmt: skip
            for m in metrics:
                row |= interval_fields(m, intervals[m])
            out.append(row)
    for ref in REFERENCES:
        ref_row = sev.references.rows.get(ref, {})
        row = {"suite": "reference", "method": ref, "label": ref, "status": "reference",
               "seeds": "", "colorfulness_gt": ref_row.get("colorfulness_gt"),
               "images": ref_row.get("images")}  # fmt: skip
        for m in metrics:
            row[m] = ref_row.get(m)
        out.append(row)
    return out


def run_rows(suites: list[Suite], runs: Runs, sev: SuiteEvaluation) -> list[dict[str, Any]]:
    """One row per method and seed: the run's own metrics and training record."""
    out = []
    for method in unique_methods(suites):
        for run in finished(runs[method.key]):
            rec = run.record
            assert rec is not None
            out.append(
                {"method": method.key, "label": method.label, "seed": run.seed,
                 "status": rec.status, **sev.seed_rows(method.key).get(run.seed, {}),
                 "g_params": rec.g_params, "d_params": rec.d_params,
                 "train_seconds": rec.seconds, "epochs": rec.epochs,
                 "best_epoch": rec.best_epoch, "run": str(run.run_dir)}
            )  # fmt: skip
    return out


def to_csv(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def write_tables(
    opts: BenchmarkOptions,
    suites: list[Suite],
    runs: Runs,
    split: Split,
    test_files: list[str],
    sev: SuiteEvaluation,
) -> list[Path]:
    data_name = opts.data.name
    parts = ["\n".join(header_lines(opts, runs, split, test_files))]
    parts += [suite_section(s, runs, sev, data_name) for s in suites]
    notes = [
        f"- {m.label}, seed {run.seed}: {run.record.message}"
        for m in unique_methods(suites)
        for run in finished(runs[m.key])
        if run.record and run.record.status != "done"
    ]
    if notes:
        parts.append("## Runs that did not finish normally\n\n" + "\n".join(notes))
    keys = [m.key for m in unique_methods(suites)] + list(REFERENCES)
    metrics = table_metrics(row for k in keys for row in seed_and_ref_rows(sev, k))
    md, csv_path, runs_path = opts.out / "table.md", opts.out / "table.csv", opts.out / "runs.csv"
    atomic_write_text(md, "\n\n".join(parts) + "\n")
    rows = csv_rows(suites, runs, sev, data_name, metrics)
    atomic_write_text(csv_path, to_csv(csv_fields(metrics), rows))
    run_fields = ("method", "label", "seed", "status", *metrics, "colorfulness_gt", "images",
                  *RUN_FIELDS, "run")  # fmt: skip
    atomic_write_text(runs_path, to_csv(run_fields, run_rows(suites, runs, sev)))
    return [md, csv_path, runs_path]


# ------------------------------------------------------------- comparisons
COMPARE_METRICS = ("ciede2000", "acc2")


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
    found = combined_direction(over_seeds, over_images, HIGHER_IS_BETTER.get(metric, True))
    if step.paper:
        paper = step.paper_diff(data_name)
        verdict = paper_verdict(found, paper is None or paper > 0)
    else:
        verdict = found
    return MetricComparison(metric, over_seeds, over_images, verdict)


def step_comparisons(
    suites: list[Suite], sev: SuiteEvaluation, data_name: str
) -> list[tuple[Step, list[MetricComparison]]]:
    metrics = [m for m in COMPARE_METRICS if any(sev.seed_values(k, m) for k in sev.runs)]
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


def write_comparisons(
    opts: BenchmarkOptions, suites: list[Suite], runs: Runs, sev: SuiteEvaluation
) -> list[Path]:
    """comparisons.md / .csv: per step, A - B with a 95% interval over seeds (paired by
    seed, Student t) and over test images (paired bootstrap, seeds averaged), and the
    verdict both support."""
    data_name = opts.data.name
    results = step_comparisons(suites, sev, data_name)
    metrics = [c.metric for c in results[0][1]] if results else []
    lines = [
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
        f"test images ({sev.references.rows.get('gray', {}).get('images', len(sev.files))} "
        "images, 4000 resamples, seeded).",
        "- Verdict per metric: *reproduced* when both intervals exclude zero on the paper's "
        "side, *reversed* when both exclude it on the other side, otherwise *not "
        "distinguishable* at this budget (with one seed only the images' interval decides, "
        "and it cannot see run-to-run noise). The step's verdict: reproduced / reversed if "
        "a metric is and none says the opposite, *mixed* if they disagree.",
    ]
    csv_out: list[dict[str, Any]] = []
    for suite in suites:
        head = ["Step", "Paper Δacc2", "Seeds"]
        for m in metrics:
            title = METRIC_TITLES.get(m, m)
            head += [f"Δ{title} over seeds", f"Δ{title} over images", f"{title} verdict"]
        head.append("Verdict")
        rows = []
        for step, comps in results:
            if step.suite != suite.name:
                continue
            paper = step.paper_diff(data_name)
            overall = overall_verdict([c.verdict for c in comps]) + seeds_note(comps)
            cells = [step_label(step), "–" if paper is None else f"{paper:+.2f}",
                     str(max((c.over_seeds.n for c in comps), default=0))]  # fmt: skip
            for c in comps:
                cells += [diff_cell(c.over_seeds), diff_cell(c.over_images), c.verdict]
            rows.append([*cells, f"**{overall}**" if overall != UNDECIDED else overall])
            for c in comps:
                csv_out.append(
                    {"suite": suite.name, "a": step.a.key, "b": step.b_key,
                     "paper_claim": step.paper, "paper_acc2_diff": paper, "metric": c.metric,
                     "seeds": c.over_seeds.n, "seed_diff": c.over_seeds.mean,
                     "seed_low": c.over_seeds.low, "seed_high": c.over_seeds.high,
                     "images": c.over_images.n, "image_diff": c.over_images.mean,
                     "image_low": c.over_images.low, "image_high": c.over_images.high,
                     "verdict": c.verdict, "step_verdict": overall}
                )  # fmt: skip
        lines += ["", f"## {suite.title}", "", markdown_table(head, rows)]
    fields = ("suite", "a", "b", "paper_claim", "paper_acc2_diff", "metric", "seeds",
              "seed_diff", "seed_low", "seed_high", "images", "image_diff", "image_low",
              "image_high", "verdict", "step_verdict")  # fmt: skip
    md, csv_path = opts.out / "comparisons.md", opts.out / "comparisons.csv"
    atomic_write_text(md, "\n".join(lines) + "\n")
    atomic_write_text(csv_path, to_csv(fields, csv_out))
    return [md, csv_path]


# -------------------------------------------------------------- per class
def class_means(evaluation: EvalResult, row: str) -> dict[str, dict[str, float]]:
    """class -> metric -> mean over that class's test images, for one row."""
    groups: dict[str, list[dict[str, float]]] = {}
    for rec in evaluation.per_image:
        if row in rec:
            groups.setdefault(rec["class"], []).append(rec[row])
    return {
        cls: {m: float(np.mean([r[m] for r in recs])) for m in PER_CLASS_METRICS if m in recs[0]}
        | {"images": len(recs)}
        for cls, recs in sorted(groups.items())
    }


def write_per_class(
    out: Path, suites: list[Suite], runs: Runs, evaluation: EvalResult
) -> list[Path]:
    """CIEDE2000 per scene class for every method (markdown, with the classes where a
    method is worse than mean_chroma in bold), and every metric per class (CSV)."""
    methods = [m for m in unique_methods(suites) if evaluation.rows.get(m.key)]
    columns = [*REFERENCES, *(m.key for m in methods)]
    labels = {**{r: f"`{r}`" for r in REFERENCES}, **{m.key: m.label for m in methods}}
    means = {c: class_means(evaluation, c) for c in columns}
    metrics = [
        m for m in PER_CLASS_METRICS if any(m in v for c in means.values() for v in c.values())
    ]
    floor = means["mean_chroma"]
    classes = list(floor)
    rows, wrong = [], {m.key: [] for m in methods}
    for cls in classes:
        cells = [cls or "(root)", str(floor[cls]["images"])]
        for col in columns:
            value = means[col][cls]["ciede2000"]
            worse = col not in REFERENCES and value > floor[cls]["ciede2000"]
            if worse:
                wrong[col].append((value - floor[cls]["ciede2000"], cls))
            cells.append(f"**{value:.2f}**" if worse else f"{value:.2f}")
        rows.append(cells)
    lines = [
        "# Per-class CIEDE2000 (lower is better)",
        "",
        "Mean CIEDE2000 over each scene class's test images (each method averaged over its "
        "seeds). **Bold**: the method is worse "
        "than `mean_chroma` (the input L plus the training mean chroma) on that class.",
        "",
        markdown_table(["Class", "Images", *(labels[c] for c in columns)], rows),
        "",
        "## Classes each method gets wrong (worse than `mean_chroma`, largest gap first)",
        "",
    ]
    for m in methods:
        bad = sorted(wrong[m.key], reverse=True)
        listed = ", ".join(f"{cls} (+{gap:.2f})" for gap, cls in bad) or "none"
        lines.append(f"- {m.label}: {len(bad)} of {len(classes)} classes: {listed}")
    csv_out = [
        {"class": cls, "method": col, **means[col][cls]} for col in columns for cls in classes
    ]
    md, csv_path = out / "per_class.md", out / "per_class.csv"
    atomic_write_text(md, "\n".join(lines) + "\n")
    atomic_write_text(csv_path, to_csv(("class", "method", "images", *metrics), csv_out))
    return [md, csv_path]
