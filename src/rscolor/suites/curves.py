"""curves.png: every method's per-epoch validation metrics (history.csv of each run), the
mean over seeds as a line and the band from the lowest to the highest seed, one row of
panels per suite. It shows how much a short GAN schedule oscillates next to the tables."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from rscolor.metrics.catalog import PLOTTED
from rscolor.suites.methods import Suite
from rscolor.suites.records import Runs, SuiteRun
from rscolor.utils.io import atomic_path


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv as rows of floats (empty cells and unreadable files give nothing)."""
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return []
    out = []
    for row in rows:
        parsed = {}
        for key, value in row.items():
            try:
                parsed[key] = float(value)
            except (TypeError, ValueError):
                continue
        out.append(parsed)
    return out


def curve_band(
    histories: list[list[dict[str, float]]], metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(epochs, mean, low, high, seeds) of a metric over the runs' histories, epoch by
    epoch (an epoch some runs have not reached averages the others)."""
    by_epoch: dict[int, list[float]] = {}
    for rows in histories:
        for row in rows:
            value = row.get(metric)
            if "epoch" in row and value is not None and math.isfinite(value):
                by_epoch.setdefault(int(row["epoch"]), []).append(value)
    epochs = np.array(sorted(by_epoch), dtype=np.int64)
    values = [np.asarray(by_epoch[e]) for e in epochs]
    mean = np.array([v.mean() for v in values])
    low = np.array([v.min() for v in values])
    high = np.array([v.max() for v in values])
    seeds = sum(1 for rows in histories if any(metric in r for r in rows))
    return epochs, mean, low, high, seeds


def method_histories(runs: list[SuiteRun]) -> list[list[dict[str, float]]]:
    return [
        h
        for run in runs
        if run.record is not None
        if (h := read_history(run.run_dir / "history.csv"))
    ]


def write_curves(out: Path, suites: list[Suite], runs: Runs) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    cols = len(PLOTTED)
    fig, axes = plt.subplots(
        len(suites), cols, figsize=(4.2 * cols, 3.3 * len(suites) + 0.4), squeeze=False
    )
    for r, suite in enumerate(suites):
        for c, plotted in enumerate(PLOTTED):
            metric, title = f"val_{plotted.key}", plotted.curve
            ax = axes[r][c]
            everyone: list[list[dict[str, float]]] = []
            for method in suite.methods:
                histories = method_histories(runs.get(method.key, []))
                everyone += histories
                epochs, mean, low, high, seeds = curve_band(histories, metric)
                if epochs.size == 0:
                    continue
                (line,) = ax.plot(epochs, mean, marker="o", ms=3, label=f"{method.label} ({seeds})")
                ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.18, lw=0)
            if plotted.truth:  # the same val images for every run
                t_epochs, truth, *_ = curve_band(everyone, f"val_{plotted.truth}")
                if t_epochs.size:
                    ax.plot(t_epochs, truth, "k--", lw=1, label="ground truth")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"{suite.title}: {title}" if c == 0 else title, fontsize=8)
            ax.set_xlabel("epoch", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if c == cols - 1:
                ax.legend(fontsize=6, loc="best")
    fig.suptitle(
        "Per-epoch validation: mean over seeds (line), lowest to highest seed (band); (n) = seeds",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    path = out / "curves.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
