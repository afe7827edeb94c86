"""Score a colorizer and the reference colorizers on a list of images."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rscolor.data.images import read_rgb
from rscolor.data.split import class_of
from rscolor.metrics.chroma import chroma_statistics, sampled_ab
from rscolor.metrics.image_metrics import image_metrics, summarize
from rscolor.metrics.references import gray_reference, mean_chroma_reference

Colorize = Callable[[np.ndarray], np.ndarray]  # ground-truth RGB -> predicted RGB


@dataclass
class EvalResult:
    rows: dict[str, dict[str, float]]
    per_image: list[dict] = field(default_factory=list)

    def per_class(self, row: str = "model", metric: str = "ciede2000") -> dict[str, float]:
        groups: dict[str, list[float]] = {}
        for rec in self.per_image:
            groups.setdefault(rec["class"], []).append(rec[row][metric])
        return {k: float(np.mean(v)) for k, v in sorted(groups.items())}


def center_crop(rgb: np.ndarray, size: int | None) -> np.ndarray:
    if not size or min(rgb.shape[:2]) <= size:
        return rgb
    top, left = (rgb.shape[0] - size) // 2, (rgb.shape[1] - size) // 2
    return rgb[top : top + size, left : left + size]


def evaluate_images(
    colorizers: dict[str, Colorize],
    root: str | Path,
    files: list[str],
    mean_ab: tuple[float, ...] | None = None,
    eval_size: int | None = None,
    references: bool = True,
    progress: bool = True,
    desc: str = "evaluate",
    chroma: bool = False,
) -> EvalResult:
    """Run each colorizer on each image; add the `gray` and `mean_chroma` rows. With
    `chroma`, the colorizers' rows also get the pooled chroma correlation and spread
    (``chroma_corr``, ``chroma_spread``: `rscolor.metrics.chroma`)."""
    methods = dict(colorizers)
    if references:
        methods["gray"] = gray_reference
        if mean_ab is not None:
            methods["mean_chroma"] = lambda rgb: mean_chroma_reference(rgb, mean_ab)
    per_image = []
    samples: dict[str, list[np.ndarray]] = {name: [] for name in colorizers} if chroma else {}
    truths: list[np.ndarray] = []
    for rel in tqdm(files, desc=desc, disable=not progress, leave=False):
        truth = center_crop(read_rgb(Path(root) / rel), eval_size)
        rec: dict = {"file": rel, "class": class_of(rel)}
        for name, fn in methods.items():
            pred = fn(truth)
            rec[name] = image_metrics(pred, truth)
            if name in samples:
                samples[name].append(sampled_ab(pred))
        if samples:
            truths.append(sampled_ab(truth))
        per_image.append(rec)
    rows = {name: summarize([rec[name] for rec in per_image]) for name in methods}
    for name, preds in samples.items():
        if preds:
            stats = chroma_statistics(np.concatenate(preds), np.concatenate(truths))
            rows[name].update(chroma_corr=stats["correlation"], chroma_spread=stats["spread_ratio"])
    return EvalResult(rows, per_image)
