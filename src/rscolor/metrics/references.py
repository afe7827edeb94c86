"""The two trivial colorizers every table carries, so a model's numbers have a floor.

- ``gray``: the input L with zero chroma.
- ``mean_chroma``: the input L plus the training split's mean (a, b) at every pixel.

On AID (150 px) they score acc2/acc5 27.8/73.6 and 29.7/80.8: acc@eps alone says little.
"""

from __future__ import annotations

import numpy as np

from rscolor.color import lab_to_rgb, rgb_to_lab


def gray_reference(rgb: np.ndarray) -> np.ndarray:
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = 0.0
    return lab_to_rgb(lab)


def mean_chroma_reference(rgb: np.ndarray, mean_ab: tuple[float, ...]) -> np.ndarray:
    lab = rgb_to_lab(rgb)
    lab[..., 1] = mean_ab[0]
    lab[..., 2] = mean_ab[1]
    return lab_to_rgb(lab)
