"""The quantile-matching chroma curve: fitted, checked, applied with the hue kept, and
carried by the colorizer before its saturation gain and chroma cap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rscolor.inference.chroma_curve import (
    apply_chroma_curve,
    blend_curve,
    check_curve,
    fit_chroma_curve,
)

from .helpers import meta_changed, tiny_colorizer


def test_fit_maps_predicted_quantiles_onto_true_ones() -> None:
    rng = np.random.default_rng(0)
    predicted = rng.uniform(0, 10, 20000)
    xs, ys = fit_chroma_curve(predicted, 2.0 * predicted + 1.0, knots=11)
    np.testing.assert_allclose(ys, 2.0 * np.asarray(xs) + 1.0, atol=1e-9)
    assert all(b > a for a, b in zip(xs, xs[1:], strict=False))


def test_fit_drops_knots_whose_x_repeats() -> None:
    predicted = np.concatenate([np.zeros(900), np.linspace(1, 5, 100)])
    xs, ys = fit_chroma_curve(predicted, np.linspace(0, 20, 1000), knots=21)
    assert xs[0] == 0.0 and xs.count(0.0) == 1
    assert len(xs) == len(ys) < 21


def test_apply_interpolates_extends_with_slope_one_and_keeps_hue() -> None:
    curve = ((0.0, 10.0, 20.0), (0.0, 15.0, 25.0))
    # (3, 4) has length 5 -> 7.5; (0, 30) has length 30 -> 35 (slope 1 past the last knot)
    offset = torch.tensor([[3.0, 0.0], [4.0, 30.0]]).view(1, 2, 1, 2)
    out = apply_chroma_curve(offset / 110.0, curve, 110.0) * 110.0
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([4.5, 6.0]))
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([0.0, 35.0]))


def test_blend_at_zero_is_the_identity_and_at_one_the_curve() -> None:
    curve = ((0.0, 10.0), (0.0, 20.0))
    assert blend_curve(curve, 0.0) == ((0.0, 10.0), (0.0, 10.0))
    assert blend_curve(curve, 0.5) == ((0.0, 10.0), (0.0, 15.0))
    assert blend_curve(curve, 1.0) == curve


@pytest.mark.parametrize(
    "bad",
    [[[0.0], [0.0]], [[0.0, 1.0], [0.0]], [[1.0, 0.5], [0.0, 1.0]], [[-1.0, 1.0], [0.0, 1.0]]],
)
def test_bad_curves_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="chroma_curve"):
        check_curve(bad)


def test_colorizer_applies_the_curve_around_the_mean_colour_before_the_gain() -> None:
    col = meta_changed(tiny_colorizer(chroma_gain=1.0), mean_ab=(-3.0, 6.0))
    lum = torch.rand(1, 1, 32, 32) * 2 - 1
    raw = col.predict_batch(lum)
    center = torch.tensor([-3.0, 6.0]).view(1, 2, 1, 1) / 110.0
    doubling = ((0.0, 100.0), (0.0, 200.0))
    curved = col.calibrated(chroma_curve=doubling, saturation=0.5)
    # doubled, then halved: back to the raw output
    torch.testing.assert_close(curved.predict_batch(lum), raw, atol=1e-6, rtol=1e-5)
    curved = curved.calibrated(saturation=1.0)
    torch.testing.assert_close(curved.predict_batch(lum), center + 2 * (raw - center))
    plain = curved.uncalibrated()
    assert plain.meta.chroma_curve is None and "chroma_curve" not in plain.meta.to_dict()
    torch.testing.assert_close(plain.predict_batch(lum), raw)


def test_chroma_weighted_l1_favours_colourful_pixels_and_keeps_its_scale() -> None:
    from rscolor.training.losses import chroma_weights, l1_loss

    target = torch.zeros(1, 2, 1, 2)
    target[0, 0, 0, 1] = 0.3  # one grey pixel, one colourful pixel (chroma 0.3)
    weight = chroma_weights(target, 1.0)
    # c / mean(c) = (0, 2) -> 1 + (0, 2) = (1, 3) -> normalised to mean 1: (0.5, 1.5)
    torch.testing.assert_close(weight.flatten(), torch.tensor([0.5, 1.5]))
    assert chroma_weights(target, 0.0) is None
    miss_grey = target.clone()
    miss_grey[0, 1, 0, 0] = 0.1
    miss_colour = target.clone()
    miss_colour[0, 1, 0, 1] = 0.1
    plain = [l1_loss([p], target).item() for p in (miss_grey, miss_colour)]
    weighted = [l1_loss([p], target, 1.0).item() for p in (miss_grey, miss_colour)]
    assert plain[0] == pytest.approx(plain[1])
    assert weighted[1] == pytest.approx(3 * weighted[0])
    assert weighted[0] + weighted[1] == pytest.approx(plain[0] + plain[1])


def test_a_model_file_with_a_broken_curve_is_a_user_error() -> None:
    from rscolor.errors import UserError

    broken = [[0.0, 5.0, 3.0], [0.0, 1.0, 2.0]]
    col = meta_changed(tiny_colorizer(chroma_gain=1.0), chroma_curve=broken)
    with pytest.raises(UserError, match="model metadata: chroma_curve"):
        col.predict_batch(torch.zeros(1, 1, 32, 32))
