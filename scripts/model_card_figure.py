"""The figure of docs/model-card.md: test images from several scene classes, colorized by
each model given, next to the gray input and the ground truth.

    python scripts/model_card_figure.py --data data/AID \\
        --split runs/jsdcgan-cpu-aid/split.json \\
        --model "shipped model=src/rscolor/weights/default.pt" \\
        --model "PatchGAN (same budget)=runs/patchgan-cpu-10ep/best.pt" \\
        --extra data/NWPU-RESISC45/airport/airport_001.jpg \\
        --out docs/figures/model-card-outputs.jpg

Rows: the first test-split image of each class in --classes (in the split's order), then
each --extra image (e.g. from a data set the models never saw). Each model runs at
``--scale auto``, as `rscolor colorize` runs it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rscolor.color import rgb_luminance_gray
from rscolor.data.images import read_rgb
from rscolor.data.split import Split
from rscolor.demo import image_grid
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.colorizer import load_colorizer

CLASSES = ("Airport", "Beach", "Farmland", "Forest", "Pond", "Port", "River", "DenseResidential")


def first_test_image(split: Split, cls: str) -> str:
    for rel in split.test:
        if rel.split("/")[0] == cls:
            return rel
    raise SystemExit(f"no test image of class {cls}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", type=Path, required=True, help="split.json of the run")
    parser.add_argument("--model", action="append", required=True, help="LABEL=CHECKPOINT")
    parser.add_argument("--classes", nargs="*", default=list(CLASSES))
    parser.add_argument("--extra", action="append", default=[], type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    models = [spec.split("=", 1) for spec in args.model]
    colorizers = [(label, load_colorizer(path, "cpu")) for label, path in models]
    split = Split.load(args.split)
    sources = [(rel, args.data / rel) for rel in (first_test_image(split, c) for c in args.classes)]
    sources += [(f"{p.parent.parent.name}/{p.name}", p) for p in args.extra]
    rows: list[tuple[str, list[np.ndarray]]] = []
    for title, path in sources:
        truth = read_rgb(path)
        gray = rgb_luminance_gray(truth)
        outputs = [np.clip(rgb_colorizer(col)(truth), 0, 1) for _, col in colorizers]
        rows.append((title, [gray, *outputs, truth]))
    columns = ("gray input", *(label for label, _ in models), "ground truth")
    image_grid(rows, columns, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
