"""Color spaces: how an RGB image splits into the network's luminance input and chroma target.

All conversions use scikit-image (sRGB, D65), and the closed-form gray <-> lightness
formulas below. Networks see values in about [-1, 1]:

========  =====================  =============================  ======================
space     luminance input        target (network output)        merge
========  =====================  =============================  ======================
``lab``   L / 50 - 1             (a, b) / 110                   input L + predicted ab
``yuv``   2 Y - 1                (U / 0.436, V / 0.615)         input Y + predicted UV
``rgb``   L / 50 - 1             2 RGB - 1                      predicted RGB as is
========  =====================  =============================  ======================

A real grayscale image (a panchromatic band, a scan) is read as the luminance of an
sRGB gray: value g in [0, 1] is the colour (g, g, g).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from skimage import color as skcolor

AB_SCALE = 110.0
U_MAX, V_MAX = 0.436, 0.615


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lab2rgb warns on out-of-gamut values; we clip.
        return fn(*args)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    return skcolor.rgb2lab(np.clip(rgb, 0.0, 1.0)).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    return np.clip(_quiet(skcolor.lab2rgb, lab.astype(np.float64)), 0.0, 1.0).astype(np.float32)


def gray_lightness(gray: np.ndarray) -> np.ndarray:
    """CIE L (0..100) of the sRGB gray (g, g, g) for g in [0, 1]."""
    g = np.clip(gray.astype(np.float64), 0.0, 1.0)
    linear = np.where(g <= 0.04045, g / 12.92, ((g + 0.055) / 1.055) ** 2.4)
    f = np.where(linear > 0.008856, np.cbrt(linear), 7.787 * linear + 16.0 / 116.0)
    return (116.0 * f - 16.0).astype(np.float32)


def lightness_to_gray(lightness: np.ndarray) -> np.ndarray:
    """Inverse of :func:`gray_lightness`: the sRGB gray value whose CIE L is `lightness`."""
    f = (np.clip(lightness.astype(np.float64), 0.0, 100.0) + 16.0) / 116.0
    linear = np.where(f**3 > 0.008856, f**3, (f - 16.0 / 116.0) / 7.787)
    g = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(g, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ColorSpace:
    """Split an RGB image into (luminance, target) and merge a prediction back."""

    name: str
    target_channels: int

    def split(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RGB HxWx3 in [0, 1] -> (lum HxW, target HxWxC), both normalised to about [-1, 1]."""
        if self.name == "yuv":
            yuv = skcolor.rgb2yuv(np.clip(rgb, 0, 1)).astype(np.float32)
            return yuv[..., 0] * 2 - 1, yuv[..., 1:] / np.array([U_MAX, V_MAX], np.float32)
        lab = rgb_to_lab(rgb)
        lum = lab[..., 0] / 50.0 - 1.0
        if self.name == "lab":
            return lum, lab[..., 1:] / AB_SCALE
        return lum, (np.clip(rgb, 0, 1) * 2 - 1).astype(np.float32)

    def gray_to_lum(self, gray: np.ndarray) -> np.ndarray:
        """Gray image in [0, 1] -> the network's normalised luminance input."""
        if self.name == "yuv":
            return (np.clip(gray, 0, 1) * 2 - 1).astype(np.float32)
        return gray_lightness(gray) / 50.0 - 1.0

    def merge(self, lum: np.ndarray, target: np.ndarray) -> np.ndarray:
        """(lum HxW, predicted target HxWxC) -> RGB HxWx3 in [0, 1]."""
        if self.name == "yuv":
            y = (lum + 1) / 2
            uv = target * np.array([U_MAX, V_MAX], np.float32)
            rgb = skcolor.yuv2rgb(np.concatenate([y[..., None], uv], -1))
            return np.clip(rgb, 0, 1).astype(np.float32)
        if self.name == "lab":
            lab = np.concatenate([((lum + 1) * 50.0)[..., None], target * AB_SCALE], -1)
            return lab_to_rgb(lab)
        return np.clip((target + 1) / 2, 0, 1).astype(np.float32)

    def chroma_center(self, mean_ab: Sequence[float]) -> np.ndarray:
        """The target that saturation scales around: the training data's mean colour
        (``lab``) or gray (``yuv``). ``rgb`` targets have no separate chroma."""
        if self.name == "rgb":
            raise ValueError("saturation needs a chroma target (lab or yuv), not rgb")
        if self.name == "lab":
            return np.asarray(mean_ab, np.float32) / AB_SCALE
        return np.zeros(2, np.float32)

    def neutral_target(self, lum: np.ndarray) -> np.ndarray:
        """The target that leaves the image gray (zero chroma; gray RGB for ``rgb``)."""
        if self.name == "rgb":
            gray = lightness_to_gray((lum + 1) * 50.0)
            return np.repeat((gray * 2 - 1)[..., None], 3, -1).astype(np.float32)
        return np.zeros(lum.shape + (2,), np.float32)


def get_color_space(name: str) -> ColorSpace:
    if name not in ("lab", "yuv", "rgb"):
        raise ValueError(f"unknown color space {name!r}")
    return ColorSpace(name, 3 if name == "rgb" else 2)


def rgb_luminance_gray(rgb: np.ndarray) -> np.ndarray:
    """Reduce a colour image to the sRGB gray that has its CIE lightness."""
    return lightness_to_gray(rgb_to_lab(rgb)[..., 0])
