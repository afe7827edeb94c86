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
import copy
import json
from pathlib import Path

import numpy as np
import torch

from rscolor.color import rgb_to_lab
from rscolor.data.images import read_rgb
from rscolor.data.split import split_for
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.colorizer import Colorizer, load_colorizer
from rscolor.inference.scale import resolve_scale
from rscolor.metrics.evaluate import evaluate_images
from rscolor.metrics.table import format_table
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

    def at(self, gain: float):
        """The colorizer at saturation `gain`. Images the model sees at their own size
        share one network run; others (``--scale auto`` below 1) go through the scene
        pipeline, as `rscolor colorize` would run them."""
        col = self.colorizer
        scaled = copy.copy(col)
        scaled.meta = {**col.meta, "saturation": gain}
        through_scene = rgb_colorizer(scaled)

        def colorize(rgb: np.ndarray) -> np.ndarray:
            if resolve_scale(None, col.meta, None, rgb.shape[:2])[0] != 1.0:
                return through_scene(rgb)
            lum, raw = self.raw(rgb)
            target = col.adjust_chroma(raw, saturation=gain)[0].numpy().transpose(1, 2, 0)
            return col.space.merge(lum, target)

        return colorize


def chroma_percentile(root: Path, files: list[str], percentile: float) -> float:
    """The given percentile of CIE Lab chroma over the pixels of `files`."""
    chroma = []
    for rel in files:
        lab = rgb_to_lab(read_rgb(root / rel))
        chroma.append(np.hypot(lab[..., 1], lab[..., 2]).ravel())
    return float(np.percentile(np.concatenate(chroma), percentile))


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
    parser.add_argument("--min-colorfulness", type=float, default=0.75)
    parser.add_argument("--chroma-percentile", type=float, default=99.9)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    colorizer = load_colorizer(args.checkpoint, "cpu")
    colorizer.set_flip_average(args.flip_average or None)
    data_cfg = colorizer.cfg.data
    split = split_for(args.checkpoint, args.data, data_cfg.split_ratios, data_cfg.split_seed)
    files = evenly_spaced(split.files(args.split), args.limit)
    if args.chroma_percentile > 0:
        train = evenly_spaced(split.train, 600)
        cap = chroma_percentile(args.data, train, args.chroma_percentile)
        colorizer.set_max_chroma(cap)
        print(f"max chroma: {cap:.2f} ({args.chroma_percentile:g}th percentile, 600 train images)")
    shared = SharedPrediction(colorizer)
    result = evaluate_images(
        {f"gain {g:g}": shared.at(g) for g in args.gains},
        args.data,
        files,
        mean_ab=tuple(colorizer.meta.get("mean_ab", (0.0, 0.0))),
        eval_size=colorizer.cfg.data.eval_size,
    )
    print(f"{len(files)} images, {args.split} split of {args.data}")
    print(format_table(result.rows))
    floor = args.min_colorfulness
    rows = {g: result.rows[f"gain {g:g}"] for g in args.gains}
    allowed = {g: r for g, r in rows.items() if r["colorfulness"] >= floor * r["colorfulness_gt"]}
    best = min(allowed, key=lambda g: allowed[g]["ciede2000"]) if allowed else None
    print(f"chosen saturation (lowest CIEDE2000 with colorfulness >= {floor:g} x GT): {best}")
    if args.out:
        body = {"checkpoint": str(args.checkpoint), "split": args.split, "images": len(files)}
        body |= {"max_chroma": colorizer.max_chroma, "min_colorfulness": floor}
        body |= {"chosen": best, "rows": result.rows}
        atomic_write_text(args.out, json.dumps(body, indent=1))


if __name__ == "__main__":
    main()
