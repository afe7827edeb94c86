"""acc@eps as Nazeri et al. (2018) compute it, which the paper's Eq. 5 follows.

Both images are converted to CIE Lab (D65), each channel is rounded to an integer, and a
pixel counts as correct when |dL| <= eps, |da| <= 2.2 eps and |db| <= 2.2 eps (each
channel within eps percent of its range: L spans 100, a and b span 220). The score is the
fraction of correct pixels; callers average it over images and report percent.
"""

from __future__ import annotations

import numpy as np


def acc_eps(lab_pred: np.ndarray, lab_true: np.ndarray, eps: float) -> float:
    """Fraction (0..1) of pixels within the per-channel thresholds; inputs HxWx3 Lab."""
    diff = np.abs(np.round(lab_pred) - np.round(lab_true))
    ok = (diff[..., 0] <= eps) & (diff[..., 1] <= 2.2 * eps) & (diff[..., 2] <= 2.2 * eps)
    return float(ok.mean())
