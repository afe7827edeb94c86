"""per_class.md / per_class.csv: every method's metrics per scene class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rscolor.metrics.catalog import PER_CLASS
from rscolor.metrics.evaluate import EvalResult
from rscolor.suites.methods import Suite, unique_methods
from rscolor.suites.records import Runs
from rscolor.suites.report import REFERENCES, markdown_table, to_csv
from rscolor.utils.io import atomic_write_text


def class_means(evaluation: EvalResult, row: str) -> dict[str, dict[str, float]]:
    """class -> metric -> mean over that class's test images, for one row."""
    groups: dict[str, list[dict[str, float]]] = {}
    for rec in evaluation.per_image:
        if row in rec:
            groups.setdefault(rec["class"], []).append(rec[row])
    return {
        cls: {m: float(np.mean([r[m] for r in recs])) for m in PER_CLASS if m in recs[0]}
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
    metrics = [m for m in PER_CLASS if any(m in v for c in means.values() for v in c.values())]
    floor = means["mean_chroma"]
    classes = list(floor)
    rows: list[list[str]] = []
    wrong: dict[str, list[tuple[float, str]]] = {m.key: [] for m in methods}
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
