"""A monotone chroma curve fitted by quantile matching: it maps the distance of the
network's chroma from the training mean colour onto the distribution of the true
distances, so a muted L1-trained generator gets back the spread of colour of real scenes
while its hues, and the order of its chromas, are kept.

The curve is a list of knots ``(x, y)`` in CIE Lab chroma units; between knots it is
linear and beyond the last knot it continues with slope 1. It is fitted on training
images (``scripts/fit_chroma_curve.py``), stored in the model file's metadata as
``chroma_curve`` and applied by `Colorizer.adjust_chroma` before the saturation gain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

Curve = tuple[tuple[float, ...], tuple[float, ...]]


def fit_chroma_curve(predicted: np.ndarray, true: np.ndarray, knots: int = 41) -> Curve:
    """Knots matching the quantiles of `predicted` distances to those of `true` ones
    (both 1-D, Lab units), at `knots` levels from the 0th to the 99.9th percentile.
    Knots whose x does not increase are dropped, so the curve is a function."""
    levels = np.linspace(0.0, 99.9, knots)
    xs = np.percentile(predicted, levels)
    ys = np.maximum.accumulate(np.percentile(true, levels))
    keep = np.concatenate([[True], np.diff(xs) > 1e-6])
    return tuple(float(x) for x in xs[keep]), tuple(float(y) for y in ys[keep])


def check_curve(curve: Sequence[Sequence[float]]) -> Curve:
    """The curve as two tuples, or ValueError if it is not two equal-length increasing
    sequences of at least two non-negative knots."""
    if len(curve) != 2 or len(curve[0]) != len(curve[1]) or len(curve[0]) < 2:
        raise ValueError("chroma_curve: expected two equal-length lists of at least 2 knots")
    xs, ys = (tuple(float(v) for v in part) for part in curve)
    if min(xs + ys) < 0 or any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
        raise ValueError("chroma_curve: knots must be non-negative with increasing x")
    return xs, ys


def blend_curve(curve: Curve, strength: float) -> Curve:
    """The curve moved `strength` of the way from the identity (0) to itself (1)."""
    xs, ys = curve
    return xs, tuple(x + strength * (y - x) for x, y in zip(xs, ys, strict=True))


def apply_chroma_curve(offset: torch.Tensor, curve: Curve, unit: float) -> torch.Tensor:
    """`offset` (N, 2, H, W, network units; `unit` Lab units per network unit) with its
    length remapped through `curve` and its direction (the hue) kept."""
    xs = torch.tensor(curve[0], dtype=offset.dtype, device=offset.device)
    ys = torch.tensor(curve[1], dtype=offset.dtype, device=offset.device)
    radius = torch.linalg.vector_norm(offset, dim=1, keepdim=True) * unit
    index = torch.bucketize(radius, xs).clamp(1, len(xs) - 1)
    x0, x1, y0, y1 = xs[index - 1], xs[index], ys[index - 1], ys[index]
    inside = y0 + (y1 - y0) * (radius - x0) / (x1 - x0)
    mapped = torch.where(radius > xs[-1], radius - xs[-1] + ys[-1], inside)
    mapped = torch.where(radius < xs[0], radius * ys[0] / max(float(xs[0]), 1e-6), mapped)
    return offset * (mapped / radius.clamp_min(1e-6))
