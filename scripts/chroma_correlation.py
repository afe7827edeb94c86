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

from rscolor.color import rgb_to_lab
from rscolor.data.images import read_rgb
from rscolor.data.split import split_for
from rscolor.inference.colorizer import load_colorizer
from rscolor.utils.sampling import evenly_spaced


def chroma_statistics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """(N, 2) predicted and true a, b -> correlation, spread ratio, least-squares gain and
    R^2 of the predictions (deviations from each one's own mean)."""
    dp, dt = pred - pred.mean(0), true - true.mean(0)
    var_p, var_t = (dp**2).sum(1).mean(), (dt**2).sum(1).mean()
    cov = (dp * dt).sum(1).mean()
    mse = ((true - pred) ** 2).sum(1).mean()
    return {
        "correlation": float(cov / np.sqrt(var_p * var_t)),
        "spread_ratio": float(np.sqrt(var_p / var_t)),
        "least_squares_gain": float(cov / var_p),
        "r2": float(1 - mse / var_t),
    }


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
        pred.append(rgb_to_lab(colorizer.colorize_rgb(rgb))[::2, ::2, 1:].reshape(-1, 2))
        true.append(rgb_to_lab(rgb)[::2, ::2, 1:].reshape(-1, 2))
    stats = chroma_statistics(np.concatenate(pred), np.concatenate(true))
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
