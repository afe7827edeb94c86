"""Pick a model's saturation on a validation split: score several chroma gains in one
pass (one network run per image) and take the gain with the lowest mean CIEDE2000 whose
mean colorfulness stays at least --min-colorfulness of the ground truth's. Every gain is
scored with the output chroma capped at the training split's --chroma-percentile (0: no
cap), which stops the rare saturated blotches a GAN generator paints.

    python scripts/calibrate_saturation.py --checkpoint runs/shipped-model-cpu/best.pt \\
        --data ../shared/data/AID --split val --gains 1 0.9 0.8 0.7 0.6 --out calib.json

Images larger than the model's training scenes are scored at ``--scale auto``.

Then record both in the exported model: rscolor export --saturation GAIN --max-chroma C
The test split is never looked at.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from rscolor.color import rgb_to_lab
from rscolor.data.images import read_rgb
from rscolor.data.split import split_for
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.chroma_curve import Curve, blend_curve, fit_chroma_curve
from rscolor.inference.colorizer import Colorizer, load_colorizer
from rscolor.metrics.evaluate import evaluate_images
from rscolor.metrics.table import format_table
from rscolor.scene.scale import resolve_scale
from rscolor.utils.io import atomic_write_text
from rscolor.utils.sampling import evenly_spaced


class SharedPrediction:
    """Runs the network once per image and applies each gain to the same output."""

    def __init__(self, colorizer: Colorizer) -> None:
        self.colorizer = colorizer
        self._image: np.ndarray | None = None  # held, so its id cannot be reused
        self._lum: np.ndarray | None = None
        self._raw: torch.Tensor | None = None

    def raw(self, rgb: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        if rgb is not self._image:
            lum = self.colorizer.space.split(rgb)[0]
            tensor = torch.from_numpy(np.ascontiguousarray(lum, np.float32))[None, None]
            self._image, self._lum = rgb, lum
            self._raw = self.colorizer.run_generator(tensor)
        assert self._lum is not None and self._raw is not None
        return self._lum, self._raw

    def at(self, gain: float, curve: Curve | None = None, cap: float | None = None):
        """The colorizer at saturation `gain` (and chroma curve `curve`). Images the model
        sees at their own size share one network run; others (``--scale auto`` below 1)
        go through the scene pipeline, as `rscolor colorize` would run them."""
        col = self.colorizer
        uncurved = col.with_meta(replace(col.meta, chroma_curve=None))
        scaled = uncurved.calibrated(saturation=gain, chroma_curve=curve, max_chroma=cap)
        through_scene = rgb_colorizer(scaled)

        def colorize(rgb: np.ndarray) -> np.ndarray:
            if resolve_scale(None, col.meta, None, rgb.shape[:2])[0] != 1.0:
                return through_scene(rgb)
            lum, raw = self.raw(rgb)
            target = scaled.adjust_chroma(raw)[0].numpy().transpose(1, 2, 0)
            return col.space.merge(lum, target)

        return colorize


def with_temperature(colorizer: Colorizer, temperature: float | None) -> Colorizer:
    """A copy of `colorizer` whose 'bins' head decodes at `temperature` (None: as is)."""
    return colorizer if temperature is None else colorizer.calibrated(temperature=temperature)


def chroma_percentile(root: Path, files: list[str], percentile: float) -> float:
    """The given percentile of CIE Lab chroma over the pixels of `files`."""
    chroma = []
    for rel in files:
        lab = rgb_to_lab(read_rgb(root / rel))
        chroma.append(np.hypot(lab[..., 1], lab[..., 2]).ravel())
    return float(np.percentile(np.concatenate(chroma), percentile))


def chroma_radii(lab: np.ndarray, center: np.ndarray, step: int = 3) -> np.ndarray:
    """Every `step`-th pixel's distance from `center` in the Lab (a, b) plane."""
    ab = lab[::step, ::step, 1:].reshape(-1, 2)
    return np.hypot(ab[:, 0] - center[0], ab[:, 1] - center[1])


def fit_curve(colorizer: Colorizer, root: Path, files: list[str]) -> Curve:
    """The quantile-matching chroma curve of `colorizer` (as it is: no gain, no cap) on
    `files`, each run as `rscolor colorize` would run it."""
    run = rgb_colorizer(colorizer.uncalibrated())
    center = np.asarray(colorizer.meta.mean_ab or (0.0, 0.0), np.float64)
    predicted, true = [], []
    for rel in tqdm(files, desc="fit curve"):
        rgb = read_rgb(root / rel)
        predicted.append(chroma_radii(rgb_to_lab(run(rgb)), center))
        true.append(chroma_radii(rgb_to_lab(rgb), center))
    return fit_chroma_curve(np.concatenate(predicted), np.concatenate(true))


def choose(
    rows: dict[str, dict[str, float]],
    floor: float,
    max_false: float,
    ciede_limit: float | None = None,
) -> str | None:
    """The row to ship. Among rows with false colour at most `max_false` %: the lowest
    CIEDE2000 of those with colourfulness at least `floor` x the ground truth's; if none
    reaches the floor, the most colourful of those with CIEDE2000 at most `ciede_limit`;
    if none is that accurate either, the most colourful."""
    clean = {k: r for k, r in rows.items() if r["false_color"] <= max_false}
    rich = {k: r for k, r in clean.items() if r["colorfulness"] >= floor * r["colorfulness_gt"]}
    if rich:
        return min(rich, key=lambda k: rich[k]["ciede2000"])
    if ciede_limit is not None:
        accurate = {k: r for k, r in clean.items() if r["ciede2000"] <= ciede_limit}
        clean = accurate or clean
    return max(clean, key=lambda k: clean[k]["colorfulness"]) if clean else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--gains", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7, 0.6])
    parser.add_argument(
        "--flip-average", action="store_true", help="Score with test-time flip averaging."
    )
    parser.add_argument(
        "--curve-strengths",
        type=float,
        nargs="+",
        default=[0.0],
        help="Also score a quantile-matching chroma curve (fitted on --fit-limit train "
        "images) at these strengths: 0 = none, 1 = the fitted curve.",
    )
    parser.add_argument("--fit-limit", type=int, default=300)
    parser.add_argument(
        "--max-chromas",
        type=float,
        nargs="+",
        default=[],
        help="Also score these chroma caps (CIE Lab chroma) besides the percentile's.",
    )
    parser.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[],
        help="For a model with a 'bins' head: also sweep its annealed-mean temperature.",
    )
    parser.add_argument("--max-false-color", type=float, default=0.01)
    parser.add_argument("--min-colorfulness", type=float, default=0.75)
    parser.add_argument(
        "--max-ciede-ratio",
        type=float,
        default=0.9,
        help="When no row reaches --min-colorfulness: the most colourful row whose "
        "CIEDE2000 is at most this times mean_chroma's (issue 11: 10%% below it).",
    )
    parser.add_argument("--chroma-percentile", type=float, default=99.9)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--device", default="cpu", help="where the network runs (cpu, cuda)")
    args = parser.parse_args()

    colorizer = load_colorizer(args.checkpoint, args.device)
    colorizer = colorizer.calibrated(flip_average=args.flip_average or None)
    data_cfg = colorizer.cfg.data
    split = split_for(args.checkpoint, args.data, data_cfg.split_ratios, data_cfg.split_seed)
    files = evenly_spaced(split.files(args.split), args.limit)
    if args.chroma_percentile > 0:
        train = evenly_spaced(split.train, 600)
        cap = chroma_percentile(args.data, train, args.chroma_percentile)
        colorizer = colorizer.calibrated(max_chroma=cap)
        print(f"max chroma: {cap:.2f} ({args.chroma_percentile:g}th percentile, 600 train images)")
    fitted = None
    if any(s > 0 for s in args.curve_strengths):
        fitted = fit_curve(colorizer, args.data, evenly_spaced(split.train, args.fit_limit))
    rows = {}
    for temperature in args.temperatures or [None]:
        shared = SharedPrediction(with_temperature(colorizer, temperature))
        prefix = "" if temperature is None else f"T {temperature:g} "
        for strength in args.curve_strengths:
            curve = blend_curve(fitted, strength) if fitted and strength > 0 else None
            for g in args.gains:
                name = prefix + f"gain {g:g}" + (f" curve {strength:g}" if curve else "")
                rows[name] = shared.at(g, curve)
                for cap in args.max_chromas:
                    rows[f"{name} cap {cap:g}"] = shared.at(g, curve, cap)
    result = evaluate_images(
        rows,
        args.data,
        files,
        mean_ab=colorizer.meta.mean_ab or (0.0, 0.0),
        eval_size=colorizer.cfg.data.eval_size,
    )
    print(f"{len(files)} images, {args.split} split of {args.data}")
    print(format_table(result.rows))
    floor, max_false = args.min_colorfulness, args.max_false_color
    scored = {k: v for k, v in result.rows.items() if k in rows}
    limit = args.max_ciede_ratio * result.rows["mean_chroma"]["ciede2000"]
    best = choose(scored, floor, max_false, limit)
    print(
        f"chosen (false colour <= {max_false:g}%: the lowest CIEDE2000 with colorfulness >= "
        f"{floor:g} x GT, else the most colourful with CIEDE2000 <= {limit:.3f} "
        f"({args.max_ciede_ratio:g} x mean_chroma's), else the most colourful): {best}"
    )
    if args.out:
        body = {"checkpoint": str(args.checkpoint), "split": args.split, "images": len(files)}
        body |= {"max_chroma": colorizer.max_chroma, "min_colorfulness": floor}
        body |= {"max_false_color": max_false, "ciede_limit": limit, "chroma_curve": fitted}
        body |= {"chosen": best, "rows": result.rows}
        atomic_write_text(args.out, json.dumps(body, indent=1))


if __name__ == "__main__":
    main()
