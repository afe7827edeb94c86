"""The scene pipeline's colour steps on whole blocks of pixels: the merge of a full-resolution
gray with predicted chroma (fused Lab -> sRGB in float32 torch), and the conversion of an
``rgb`` model's output to Lab chroma. Numerically the formulas of :mod:`.spaces`."""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import xyz_tristimulus_values
from skimage.color.colorconv import rgb_from_xyz

from rscolor.color.spaces import AB_SCALE, ColorSpace, get_color_space, rgb_to_lab

_WHITE = torch.tensor(xyz_tristimulus_values(illuminant="D65", observer="2"), dtype=torch.float32)
_RGB_FROM_XYZ = torch.tensor(rgb_from_xyz, dtype=torch.float32)


def lab_gray_merge(gray: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """sRGB gray (h x w) + normalised ab (2 x h x w) -> uint8 RGB, in float32 torch.

    The same formulas as :mod:`rscolor.color.spaces` (skimage's Lab -> XYZ -> sRGB, D65),
    fused and vectorised: skimage's float64 path runs at about 2 Mpx/s on one core and would
    dominate a scene run. Tested against ``ColorSpace.merge`` in tests/test_colorize_scene.py.
    """
    g = torch.from_numpy(np.ascontiguousarray(gray, np.float32)).clamp(0, 1)
    lin = torch.where(g <= 0.04045, g / 12.92, ((g + 0.055) / 1.055) ** 2.4)
    fy = torch.where(lin > 0.008856, lin.clamp_min(1e-12) ** (1 / 3), 7.787 * lin + 16 / 116)
    a, b = torch.from_numpy(np.ascontiguousarray(ab, np.float32)) * AB_SCALE
    f = torch.stack([fy + a / 500, fy, (fy - b / 200).clamp_min(0)])
    xyz = torch.where(f > 0.2068966, f**3, (f - 16 / 116) / 7.787) * _WHITE[:, None, None]
    lin_rgb = torch.einsum("ij,jhw->ihw", _RGB_FROM_XYZ, xyz)
    srgb = torch.where(
        lin_rgb > 0.0031308, 1.055 * lin_rgb.clamp_min(1e-12) ** (1 / 2.4) - 0.055, 12.92 * lin_rgb
    )
    rgb8 = (srgb.clamp(0, 1) * 255).round().to(torch.uint8)
    return rgb8.permute(1, 2, 0).contiguous().numpy()


def merge_rgb(space: ColorSpace, gray: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Full-resolution gray (h x w) + target (C x h x w) -> uint8 RGB h x w x 3."""
    if space.name == "lab":
        return lab_gray_merge(gray, target)
    rgb = space.merge(space.gray_to_lum(gray), np.moveaxis(target, 0, -1))
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


def chroma_space(space: ColorSpace) -> ColorSpace:
    """The space the full-resolution merge runs in: an ``rgb`` model's output is turned
    into Lab chroma, so the input's own luminance is kept at full resolution."""
    return get_color_space("lab") if space.name == "rgb" else space


def to_chroma(space: ColorSpace, target: np.ndarray) -> np.ndarray:
    if space.name != "rgb":
        return target
    rgb = (np.moveaxis(target, 0, -1) + 1) / 2
    return np.moveaxis(rgb_to_lab(rgb)[..., 1:] / AB_SCALE, -1, 0).astype(np.float32)
