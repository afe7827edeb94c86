"""The benchmark's tables: table.md / table.csv in the paper's form (acc2, acc5) plus the
further metrics, and the per-class breakdown (per_class.md / per_class.csv)."""

from __future__ import annotations

import csv
import io
import math
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rscolor.benchmark.suites import Suite, unique_methods
from rscolor.data.split import Split
from rscolor.metrics.evaluate import EvalResult
from rscolor.utils.io import atomic_write_text

if TYPE_CHECKING:
    from rscolor.benchmark.runner import BenchmarkOptions, MethodRun

REFERENCES = ("gray", "mean_chroma")
METRICS = ("acc2", "acc5", "psnr", "ssim", "ciede2000", "colorfulness", "colorfulness_gap")
CSV_FIELDS = (
    "suite", "method", "label", "status", *METRICS, "colorfulness_gt", "images",
    "g_params", "d_params", "train_seconds", "epochs", "best_epoch", "paper_acc2", "paper_acc5",
)  # fmt: skip
METRIC_FIELDS = (*METRICS, "colorfulness_gt", "images")
PER_CLASS_METRICS = ("acc2", "acc5", "psnr", "ssim", "ciede2000", "colorfulness")


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


def label_of(run: MethodRun, label: str) -> str:
    status = run.record.status if run.record else "missing"
    return label if status == "done" else f"{label} ({status})"


# -------------------------------------------------------------- table.md/csv
def header_lines(
    opts: BenchmarkOptions, runs: dict[str, MethodRun], split: Split, test_files: list[str]
) -> list[str]:
    cfg = next(iter(runs.values())).cfg
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
    devices = sorted({run.record.device for run in runs.values() if run.record})
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
        f"- Trained on {', '.join(devices) or '–'} (torch {torch.__version__}, "
        f"{platform.machine()}); train time = sum of epoch wall times, per-epoch validation "
        f"included; best epoch by validation {cfg.train.select_metric}.",
        "- acc2 / acc5: % of pixels within the paper's Eq. 5 thresholds (higher is better); PSNR, "
        "SSIM on RGB; CIEDE2000: mean colour difference (lower is better); colorfulness "
        "(Hasler & Süsstrunk) of the output, in brackets its gap to the ground truth's.",
        "- `gray` (input L, no chroma) and `mean_chroma` (input L + the training split's mean "
        "a, b) are trivial colorizers: a method that does not beat them has learnt little.",
        f"- Written {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
    ]


def method_cells(row: dict[str, float]) -> list[str]:
    return [
        num(row.get("acc2")),
        num(row.get("acc5")),
        num(row.get("psnr")),
        num(row.get("ssim"), 3),
        num(row.get("ciede2000")),
        f"{num(row.get('colorfulness'), 1)} ({num(row.get('colorfulness_gap'), 1)})",
    ]


def suite_section(
    suite: Suite, runs: dict[str, MethodRun], evaluation: EvalResult, data_name: str
) -> str:
    with_paper = any(data_name in m.paper for m in suite.methods)
    head = ["Method", "acc2", "acc5", "PSNR", "SSIM", "CIEDE2000", "Colorfulness (gap)",
            "G params", "Train time", "Best epoch"]  # fmt: skip
    if with_paper:
        head += ["Paper acc2", "Paper acc5"]
    rows = []
    for method in suite.methods:
        run = runs[method.key]
        rec = run.record
        cells = [label_of(run, method.label), *method_cells(evaluation.rows.get(method.key, {}))]
        cells += [
            params_text(rec.g_params),
            duration_text(rec.seconds),
            f"{rec.best_epoch} / {rec.epochs}" if rec.best_epoch > 0 else "–",
        ]
        if with_paper:
            paper = method.paper.get(data_name)
            cells += [num(paper[0]), num(paper[1])] if paper else ["–", "–"]
        rows.append(cells)
    for ref in REFERENCES:
        cells = [f"`{ref}`", *method_cells(evaluation.rows.get(ref, {})), "–", "–", "–"]
        rows.append(cells + (["–", "–"] if with_paper else []))
    return f"## {suite.title}\n\n" + markdown_table(head, rows)


def csv_rows(
    suites: list[Suite], runs: dict[str, MethodRun], evaluation: EvalResult, data_name: str
) -> list[dict[str, Any]]:
    out = []
    for suite in suites:
        for method in suite.methods:
            rec = runs[method.key].record
            paper = method.paper.get(data_name, (None, None))
            row = evaluation.rows.get(method.key, {})
            out.append(
                {
                    "suite": suite.name, "method": method.key, "label": method.label,
                    "status": rec.status, **{k: row.get(k) for k in METRIC_FIELDS},
                    "g_params": rec.g_params, "d_params": rec.d_params,
                    "train_seconds": rec.seconds, "epochs": rec.epochs,
                    "best_epoch": rec.best_epoch, "paper_acc2": paper[0], "paper_acc5": paper[1],
                }
            )  # fmt: skip
    for ref in REFERENCES:
        row = evaluation.rows.get(ref, {})
        out.append(
            {"suite": "reference", "method": ref, "label": ref, "status": "reference",
             **{k: row.get(k) for k in METRIC_FIELDS}}
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
    runs: dict[str, MethodRun],
    split: Split,
    test_files: list[str],
    evaluation: EvalResult,
) -> list[Path]:
    data_name = opts.data.name
    parts = ["\n".join(header_lines(opts, runs, split, test_files))]
    parts += [suite_section(s, runs, evaluation, data_name) for s in suites]
    notes = [
        f"- {runs[m.key].method.label}: {runs[m.key].record.message}"
        for m in unique_methods(suites)
        if runs[m.key].record.status != "done"
    ]
    if notes:
        parts.append("## Runs that did not finish normally\n\n" + "\n".join(notes))
    md, csv_path = opts.out / "table.md", opts.out / "table.csv"
    atomic_write_text(md, "\n\n".join(parts) + "\n")
    atomic_write_text(csv_path, to_csv(CSV_FIELDS, csv_rows(suites, runs, evaluation, data_name)))
    return [md, csv_path]


# -------------------------------------------------------------- per class
def class_means(evaluation: EvalResult, row: str) -> dict[str, dict[str, float]]:
    """class -> metric -> mean over that class's test images, for one row."""
    groups: dict[str, list[dict[str, float]]] = {}
    for rec in evaluation.per_image:
        if row in rec:
            groups.setdefault(rec["class"], []).append(rec[row])
    return {
        cls: {m: float(np.mean([r[m] for r in recs])) for m in PER_CLASS_METRICS}
        | {"images": len(recs)}
        for cls, recs in sorted(groups.items())
    }


def write_per_class(
    out: Path, suites: list[Suite], runs: dict[str, MethodRun], evaluation: EvalResult
) -> list[Path]:
    """CIEDE2000 per scene class for every method (markdown, with the classes where a
    method is worse than mean_chroma in bold), and every metric per class (CSV)."""
    methods = [m for m in unique_methods(suites) if evaluation.rows.get(m.key)]
    columns = [*REFERENCES, *(m.key for m in methods)]
    labels = {**{r: f"`{r}`" for r in REFERENCES}, **{m.key: m.label for m in methods}}
    means = {c: class_means(evaluation, c) for c in columns}
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
        "Mean CIEDE2000 over each scene class's test images. **Bold**: the method is worse "
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
    atomic_write_text(csv_path, to_csv(("class", "method", "images", *PER_CLASS_METRICS), csv_out))
    return [md, csv_path]
