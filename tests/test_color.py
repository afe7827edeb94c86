import numpy as np
import pytest

from rscolor.color import get_color_space, gray_lightness, lightness_to_gray, rgb_to_lab


def random_rgb(seed: int = 0, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (size, size, 3)).astype(np.float32)


@pytest.mark.parametrize("name", ["lab", "yuv", "rgb"])
def test_split_then_merge_gives_back_the_image(name: str) -> None:
    rgb = random_rgb()
    space = get_color_space(name)
    lum, target = space.split(rgb)
    assert lum.shape == rgb.shape[:2]
    assert target.shape == rgb.shape[:2] + (space.target_channels,)
    assert np.abs(lum).max() <= 1.0001 and np.abs(target).max() <= 1.05
    np.testing.assert_allclose(space.merge(lum, target), rgb, atol=2e-3)


def test_gray_lightness_matches_skimage_on_a_gray_ramp() -> None:
    g = np.linspace(0, 1, 11, dtype=np.float32)
    rgb = np.repeat(g[None, :, None], 3, -1)
    np.testing.assert_allclose(gray_lightness(g), rgb_to_lab(rgb)[0, :, 0], atol=1e-3)
    np.testing.assert_allclose(lightness_to_gray(gray_lightness(g)), g, atol=1e-4)


@pytest.mark.parametrize("name", ["lab", "yuv", "rgb"])
def test_neutral_target_keeps_a_gray_image_gray(name: str) -> None:
    space = get_color_space(name)
    gray = np.linspace(0.1, 0.9, 64, dtype=np.float32).reshape(8, 8)
    lum = space.gray_to_lum(gray)
    rgb = space.merge(lum, space.neutral_target(lum))
    np.testing.assert_allclose(rgb[..., 0], gray, atol=3e-3)
    np.testing.assert_allclose(rgb[..., 0], rgb[..., 2], atol=3e-3)


def test_unknown_color_space() -> None:
    with pytest.raises(ValueError):
        get_color_space("hsv")
