"""CIEDE2000 in torch, differentiable, for pixels that share their lightness.

The metric of the project (scikit-image's ``deltaE_ciede2000``, Sharma et al. 2005) as a
training loss. A colorizer keeps the input's lightness, so the difference is taken at equal
L: the lightness term is 0 and only a, b enter. Tested against scikit-image's values in
tests/test_ciede_loss.py.

Why not plain L1 on a, b: CIEDE2000 forgives a chroma error more the more colourful the
pixel (S_C = 1 + 0.045 C) and stretches a near the grey axis (the G factor), so the
prediction that minimises the expected L1 is greyer than the one that minimises the
expected CIEDE2000. Training on the metric itself removes that bias.

Every term is differentiable. The mean hue is the direction of the sum of the two unit
hue vectors (the bisector of the shorter arc, which is Sharma's rule at the 360 degree
wrap) rather than a branch on angles. The squared hue difference enters as
2 (C1' C2' - a1' a2' - b1 b2), without the square root whose slope is infinite at a grey
prediction; only the rotation term (blues) needs its sign, and takes a softened root.
Each square root has a tiny floor, so a grey pixel or an exact match has a finite gradient.
The truth carries no gradient.
"""

from __future__ import annotations

import math

import torch

_TINY = 1e-20
_SOFT = 0.1  # Lab units: where the signed hue difference's root is softened
_25_POW_7 = 25.0**7


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt with a finite gradient at 0: below a tiny floor the clamp passes none."""
    return torch.sqrt(x.clamp_min(_TINY))


def _chroma(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _sqrt(a * a + b * b)


def _mean_hue(a1, b1, c1, a2, b2, c2) -> torch.Tensor:
    """Sharma's mean hue h' in radians: the bisector of the two hues (the non-grey one's
    hue where the other is grey)."""
    x = a1 / c1 + a2 / c2
    y = b1 / c1 + b2 / c2
    return torch.atan2(y, x + _TINY)


def ciede2000_ab(ab_pred: torch.Tensor, ab_true: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Per-pixel CIEDE2000 between two a, b fields in Lab units at equal lightness.

    `dim` is the channel axis (a then b); the result has that axis removed.
    """
    dtype = torch.promote_types(ab_pred.dtype, torch.float32)
    a1, b1 = ab_true.detach().to(dtype).unbind(dim)
    a2, b2 = ab_pred.to(dtype).unbind(dim)
    c_bar = (_chroma(a1, b1) + _chroma(a2, b2)) / 2
    c7 = c_bar**7
    g = 0.5 * (1 - _sqrt(c7 / (c7 + _25_POW_7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = _chroma(a1p, b1), _chroma(a2p, b2)
    dc = c2p - c1p
    dh_sq = (2 * (c1p * c2p - a1p * a2p - b1 * b2)).clamp_min(0)
    # The signed dH' (sign: the turn from truth to prediction); x / sqrt(x + s^2) is
    # sqrt(x) to within s^2 / (2 sqrt(x)), with a bounded slope at 0.
    sign = torch.where(a1p * b2 - b1 * a2p < 0, -1.0, 1.0)
    dh = sign * dh_sq / _sqrt(dh_sq + _SOFT**2)
    h_bar = _mean_hue(a1p, b1, c1p, a2p, b2, c2p)
    t = (
        1
        - 0.17 * torch.cos(h_bar - math.radians(30))
        + 0.24 * torch.cos(2 * h_bar)
        + 0.32 * torch.cos(3 * h_bar + math.radians(6))
        - 0.20 * torch.cos(4 * h_bar - math.radians(63))
    )
    h_deg = torch.rad2deg(h_bar) % 360
    rotation = math.radians(30) * torch.exp(-(((h_deg - 275) / 25) ** 2))
    cp_bar = (c1p + c2p) / 2
    cp7 = cp_bar**7
    r_t = -torch.sin(2 * rotation) * 2 * _sqrt(cp7 / (cp7 + _25_POW_7))
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    term_c = dc / s_c
    return _sqrt(term_c**2 + dh_sq / s_h**2 + r_t * term_c * dh / s_h)
