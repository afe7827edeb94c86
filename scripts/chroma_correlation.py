"""How much of the true chroma a model explains, on a validation split: the correlation of
predicted and true a, b deviations from their means, the predictions' spread relative to the
truth's, and the least-squares gain on the predictions (below 1: the model already paints
more colour than its accuracy supports, so more colour costs error).

    python scripts/chroma_correlation.py --checkpoint src/rscolor/weights/default.pt \\
        --data data/aid-nwpu --split-from runs/ship-chroma/best.pt --limit 300

Every second pixel of each image in both directions, the model at the image's own size.
The test split is never looked at.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rscolor.data.images import read_rgb
from rscolor.data.split import split_for
from rscolor.inference.colorizer import load_colorizer
from rscolor.metrics.chroma import chroma_statistics, sampled_ab
from rscolor.utils.sampling import evenly_spaced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument(
        "--split-from", type=Path, default=None, help="A run's model whose split to use."
    )
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    colorizer = load_colorizer(args.checkpoint, "cpu")
    data_cfg = colorizer.cfg.data
    source = args.split_from or args.checkpoint
    split = split_for(source, args.data, data_cfg.split_ratios, data_cfg.split_seed)
    pred, true = [], []
    for rel in tqdm(evenly_spaced(split.files(args.split), args.limit), desc="images"):
        rgb = read_rgb(args.data / rel)
        pred.append(sampled_ab(colorizer.colorize_rgb(rgb)))
        true.append(sampled_ab(rgb))
    stats = chroma_statistics(np.concatenate(pred), np.concatenate(true))
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
