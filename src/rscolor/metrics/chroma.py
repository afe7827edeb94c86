"""How much of the true chroma a model explains: pooled over pixels, the correlation of
predicted and true a, b deviations from their means, the predictions' spread relative to the
truth's, and the least-squares gain on the predictions (below 1: the model already paints
more colour than its accuracy supports). A better predictor, not a gain, raises the
correlation (docs/model-card.md)."""

from __future__ import annotations

import numpy as np

from rscolor.color import rgb_to_lab


def chroma_statistics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """(N, 2) predicted and true a, b -> correlation, spread ratio, least-squares gain and
    R^2 of the predictions (deviations from each one's own mean)."""
    dp, dt = pred - pred.mean(0), true - true.mean(0)
    var_p, var_t = (dp**2).sum(1).mean(), (dt**2).sum(1).mean()
    cov = (dp * dt).sum(1).mean()
    mse = ((true - pred) ** 2).sum(1).mean()
    if var_p <= 0 or var_t <= 0:  # a constant colour explains nothing (and divides by 0)
        var_t = max(var_t, 1e-12)
        spread = float(np.sqrt(var_p / var_t))
        return {
            "correlation": 0.0,
            "spread_ratio": spread,
            "least_squares_gain": 0.0,
            "r2": float(1 - mse / var_t),
        }
    return {
        "correlation": float(cov / np.sqrt(var_p * var_t)),
        "spread_ratio": float(np.sqrt(var_p / var_t)),
        "least_squares_gain": float(cov / var_p),
        "r2": float(1 - mse / var_t),
    }


def sampled_ab(rgb: np.ndarray, step: int = 2) -> np.ndarray:
    """(N, 2) Lab a, b of every `step`-th pixel in both directions of an RGB picture."""
    return rgb_to_lab(rgb)[::step, ::step, 1:].reshape(-1, 2)
