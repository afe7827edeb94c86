"""The benchmark's tables: table.md / table.csv in the paper's form (acc2, acc5) plus the
further metrics, and the per-class breakdown (per_class.md / per_class.csv)."""

from __future__ import annotations

import csv
import io
import math
import platform
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rscolor.data.split import Split
from rscolor.metrics import catalog
from rscolor.suites.methods import Suite, unique_methods
from rscolor.suites.records import BenchmarkOptions, Runs, SuiteEvaluation, SuiteRun
from rscolor.suites.stats import (
    Interval,
    mean_ci,
)
from rscolor.utils.io import atomic_write_text

REFERENCES = ("gray", "mean_chroma")
COUNTS = {"images"}  # summarize's image count, not a metric
RUN_FIELDS = ("g_params", "d_params", "train_seconds", "epochs", "best_epoch")
PAPER_FIELDS = ("paper_acc2", "paper_acc5")


def table_metrics(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The metrics the rows hold, those of the metric table in its order, then the rest by
    name (the table's untabled ones, such as the truth's colorfulness, left out)."""
    present = {k for row in rows for k, v in row.items() if isinstance(v, (int, float))}
    present -= COUNTS | catalog.NOT_TABLED
    known = [m for m in catalog.TABLED if m in present]
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


def status_of(runs: list[SuiteRun]) -> str:
    """done / diverged for a method's runs, or a count of each when they differ."""
    statuses = [r.record.status for r in runs if r.record is not None]
    if not statuses:
        return "missing"
    if len(set(statuses)) == 1:
        return statuses[0]
    return ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))


def label_of(runs: list[SuiteRun], label: str) -> str:
    status = status_of(runs)
    return label if status == "done" else f"{label} ({status})"


def finished(runs: list[SuiteRun]) -> list[SuiteRun]:
    return [r for r in runs if r.record is not None]


def metric_cell(interval: Interval, metric: str) -> str:
    """'mean ± half-width of the 95% interval', the mean alone for one value."""
    digits = catalog.digits(metric)
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
        + f", configs `configs/{opts.scale}/*.yaml`. Overrides: "
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
        f"- Written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
    ]


def method_intervals(sev: SuiteEvaluation, key: str, metrics: list[str]) -> dict[str, Interval]:
    """metric -> mean and 95% interval over the method's seeds (a reference: its value)."""
    if key in sev.references.rows:
        row = sev.references.rows[key]
        return {m: mean_ci([row[m]] if m in row else []) for m in metrics}
    return {m: mean_ci(list(sev.seed_values(key, m).values())) for m in metrics}


def best_epochs(runs: list[SuiteRun]) -> str:
    done = [r.record for r in finished(runs) if r.record and r.record.best_epoch > 0]
    if not done:
        return "–"
    return f"{', '.join(str(r.best_epoch) for r in done)} / {max(r.epochs for r in done)}"


def suite_section(suite: Suite, runs: Runs, sev: SuiteEvaluation, data_name: str) -> str:
    with_paper = any(data_name in m.paper for m in suite.methods)
    keys = [m.key for m in suite.methods] + list(REFERENCES)
    metrics = table_metrics(row for k in keys for row in seed_and_ref_rows(sev, k))
    head = [
        "Method",
        "Seeds",
        *(catalog.title(m) for m in metrics),
        "G params",
        "Train time",
        "Best epoch",
    ]
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
    return (
        "suite",
        "method",
        "label",
        "status",
        "seeds",
        *per_metric,
        "colorfulness_gt",
        "images",
        *RUN_FIELDS,
        *PAPER_FIELDS,
    )


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
                "suite": suite.name,
                "method": method.key,
                "label": method.label,
                "status": status_of(runs[method.key]),
                "seeds": len(rows),
                "colorfulness_gt": rows[0].get("colorfulness_gt") if rows else None,
                "images": rows[0].get("images") if rows else None,
                "g_params": done[0].g_params,
                "d_params": done[0].d_params,
                "train_seconds": float(np.mean([r.seconds for r in done])),
                "epochs": max(r.epochs for r in done),
                "best_epoch": ";".join(str(r.best_epoch) for r in done),
                "paper_acc2": paper[0],
                "paper_acc5": paper[1],
            }
            for m in metrics:
                row |= interval_fields(m, intervals[m])
            out.append(row)
    for ref in REFERENCES:
        ref_row = sev.references.rows.get(ref, {})
        row = {
            "suite": "reference",
            "method": ref,
            "label": ref,
            "status": "reference",
            "seeds": "",
            "colorfulness_gt": ref_row.get("colorfulness_gt"),
            "images": ref_row.get("images"),
        }
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
                {
                    "method": method.key,
                    "label": method.label,
                    "seed": run.seed,
                    "status": rec.status,
                    **sev.seed_rows(method.key).get(run.seed, {}),
                    "g_params": rec.g_params,
                    "d_params": rec.d_params,
                    "train_seconds": rec.seconds,
                    "epochs": rec.epochs,
                    "best_epoch": rec.best_epoch,
                    "run": str(run.run_dir),
                }
            )
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
    run_fields = (
        "method",
        "label",
        "seed",
        "status",
        *metrics,
        "colorfulness_gt",
        "images",
        *RUN_FIELDS,
        "run",
    )
    atomic_write_text(runs_path, to_csv(run_fields, run_rows(suites, runs, sev)))
    return [md, csv_path, runs_path]
