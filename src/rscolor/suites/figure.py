"""The benchmark's figure: one row per test image, gray input | each method (its first
seed's run) | ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rscolor.data.images import read_rgb
from rscolor.data.split import class_of
from rscolor.inference.colorizer import load_colorizer
from rscolor.metrics.evaluate import center_crop
from rscolor.metrics.references import gray_reference
from rscolor.suites.methods import Suite, unique_methods
from rscolor.suites.records import BenchmarkOptions, Runs, SuiteRun
from rscolor.utils.io import atomic_path


def pick_figure_files(files: list[str], n: int) -> list[str]:
    """Up to n files from different classes, the classes evenly spread over the sorted
    class list (the first test image of each); more per class only if classes run out."""
    by_class: dict[str, list[str]] = {}
    for f in files:
        by_class.setdefault(class_of(f), []).append(f)
    classes = sorted(by_class)
    if len(classes) >= n:
        idx = np.linspace(0, len(classes) - 1, n).round().astype(int)
        return [by_class[classes[i]][0] for i in idx]
    picked: list[str] = []
    depth = 0
    while len(picked) < min(n, len(files)):
        picked += [by_class[c][depth] for c in classes if len(by_class[c]) > depth][
            : n - len(picked)
        ]
        depth += 1
    return picked


def first_checkpoint(runs: list[SuiteRun]) -> Path | None:
    """best.pt of the method's first finished seed that has one (the figure shows one run)."""
    for run in runs:
        if run.record is not None and (run.run_dir / "best.pt").is_file():
            return run.run_dir / "best.pt"
    return None


def write_figure(
    opts: BenchmarkOptions,
    suites: list[Suite],
    runs: Runs,
    test_files: list[str],
    eval_size: int | None,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checkpoints = {m.key: first_checkpoint(runs[m.key]) for m in unique_methods(suites)}
    methods = [m for m in unique_methods(suites) if checkpoints[m.key] is not None]
    colorizers = [load_colorizer(checkpoints[m.key], opts.device or "auto") for m in methods]
    files = pick_figure_files(test_files, opts.figure_images)
    titles = ["gray input", *(m.label for m in methods), "ground truth"]
    cols = len(titles)
    fig, axes = plt.subplots(
        len(files), cols, figsize=(1.6 * cols, 1.6 * len(files) + 0.5), squeeze=False
    )
    for r, rel in enumerate(files):
        truth = center_crop(read_rgb(opts.data / rel), eval_size)
        images = [gray_reference(truth)]
        images += [c.colorize_rgb(truth) for c in colorizers]
        images.append(truth)
        for c, (ax, img) in enumerate(zip(axes[r], images, strict=True)):
            ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=7)
        axes[r][0].set_ylabel(class_of(rel) or rel, fontsize=7)
    fig.tight_layout(pad=0.3)
    path = opts.out / "figure.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
