"""The colour layer: every colour conversion in the package.

* :mod:`.spaces` (numpy, scikit-image): sRGB <-> CIE Lab, gray <-> lightness, and the
  colour spaces a network works in (split an RGB image into luminance and chroma target,
  merge a prediction back).
* :mod:`.tensor` (torch): the same Lab -> sRGB merge fused for whole scene blocks, and an
  ``rgb`` model's output as Lab chroma. Imported on its own (``rscolor.color.tensor``), so
  importing the colour spaces does not import torch.
"""

from rscolor.color.spaces import (
    AB_SCALE,
    U_MAX,
    V_MAX,
    ColorSpace,
    get_color_space,
    gray_lightness,
    lab_to_rgb,
    lightness_to_gray,
    rgb_luminance_gray,
    rgb_to_lab,
)

__all__ = [
    "AB_SCALE",
    "U_MAX",
    "V_MAX",
    "ColorSpace",
    "get_color_space",
    "gray_lightness",
    "lab_to_rgb",
    "lightness_to_gray",
    "rgb_luminance_gray",
    "rgb_to_lab",
]
