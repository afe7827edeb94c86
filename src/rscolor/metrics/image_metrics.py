"""Per-image metrics on 8-bit-quantised RGB, and their mean over a set of images.

The prediction is quantised to 8 bits first, as a saved PNG would be, so the numbers are
those of the files a user gets. PSNR and SSIM are on RGB in [0, 1] (scikit-image);
CIEDE2000 is scikit-image's, averaged over pixels; colorfulness is Hasler and
Suesstrunk (2003) on the 0..255 scale.
"""

from __future__ import annotations

import numpy as np
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from rscolor.color import rgb_to_lab
from rscolor.metrics.accuracy import acc_eps
from rscolor.metrics.catalog import known

# The tabled per-image scores, in the order `image_metrics` computes them (the order of
# `rscolor evaluate`'s table); each one's title, digits and direction: metrics/catalog.py.
METRIC_KEYS = known("acc2", "acc5", "psnr", "ssim", "ciede2000", "colorfulness", "false_color")

# false_color: a pixel is painted in a false colour when its predicted chroma is vivid
# (above FALSE_CHROMA) and well above the truth's (by more than FALSE_EXCESS), Lab units.
FALSE_CHROMA = 25.0
FALSE_EXCESS = 20.0


def quantize8(rgb: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(rgb, 0, 1) * 255.0) / 255.0).astype(np.float32)


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk's M3 on RGB in [0, 1], reported on the 0..255 scale."""
    r, g, b = (rgb[..., i].astype(np.float64) * 255.0 for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    std = np.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mean = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(std + 0.3 * mean)


def chroma(lab: np.ndarray) -> np.ndarray:
    """CIE Lab chroma sqrt(a^2 + b^2) of an H x W x 3 Lab image."""
    return np.hypot(lab[..., 1], lab[..., 2])


def false_color(lab_pred: np.ndarray, lab_true: np.ndarray) -> float:
    """Share of pixels (percent) painted in a vivid colour the truth does not have:
    predicted chroma > 25 and more than 20 above the true chroma (the blotches a user
    calls broken; a muted or gray output scores 0)."""
    c_pred, c_true = chroma(lab_pred), chroma(lab_true)
    bad = (c_pred > FALSE_CHROMA) & (c_pred - c_true > FALSE_EXCESS)
    return 100.0 * float(bad.mean())


def psnr(pred: np.ndarray, true: np.ndarray, cap: float = 100.0) -> float:
    """PSNR on [0, 1] images, capped (identical images would be infinite)."""
    if np.array_equal(pred, true):
        return cap
    return float(min(peak_signal_noise_ratio(true, pred, data_range=1.0), cap))


def image_metrics(pred_rgb: np.ndarray, true_rgb: np.ndarray) -> dict[str, float]:
    pred, true = quantize8(pred_rgb), quantize8(true_rgb)
    lab_p, lab_t = rgb_to_lab(pred), rgb_to_lab(true)
    small = min(true.shape[:2]) < 7
    return {
        "acc2": 100.0 * acc_eps(lab_p, lab_t, 2),
        "acc5": 100.0 * acc_eps(lab_p, lab_t, 5),
        "psnr": psnr(pred, true),
        "ssim": float(
            structural_similarity(
                true, pred, channel_axis=-1, data_range=1.0, win_size=3 if small else 7
            )
        ),
        "ciede2000": float(deltaE_ciede2000(lab_t, lab_p).mean()),
        "colorfulness": colorfulness(pred),
        "colorfulness_gt": colorfulness(true),
        "false_color": false_color(lab_p, lab_t),
    }


def summarize(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over images, plus the colorfulness gap (output - ground truth)."""
    if not rows:
        return {}
    out = {
        k: float(np.mean([r[k] for r in rows])) for k in rows[0] if isinstance(rows[0][k], float)
    }
    if "colorfulness" in out and "colorfulness_gt" in out:
        out["colorfulness_gap"] = out["colorfulness"] - out["colorfulness_gt"]
    out["images"] = len(rows)
    return out
