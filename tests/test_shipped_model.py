"""The model that ships in the package, and the demo figure built with it."""

from pathlib import Path

import numpy as np
import pytest

from rscolor.color import gray_lightness, rgb_to_lab
from rscolor.data.images import read_rgb
from rscolor.demo import main as demo_main
from rscolor.inference import load_colorizer, shipped_model_path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def test_shipped_model_is_small_and_loads() -> None:
    path = shipped_model_path()
    assert path.stat().st_size <= 25 * 1024 * 1024
    colorizer = load_colorizer(device="cpu")
    assert colorizer.cfg.color_space == "lab"
    assert len(colorizer.meta["mean_ab"]) == 2


def test_shipped_model_keeps_the_input_lightness_and_adds_colour() -> None:
    colorizer = load_colorizer(device="cpu")
    gray = np.linspace(0.05, 0.95, 70 * 90, dtype=np.float32).reshape(70, 90)
    rgb = colorizer.colorize(gray)
    assert rgb.shape == (70, 90, 3)
    lab = rgb_to_lab(rgb)
    np.testing.assert_allclose(lab[..., 0], gray_lightness(gray), atol=1.0)
    assert np.abs(lab[..., 1:]).mean() > 0.5  # not gray


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="samples/ not present")
def test_demo_figure(tmp_path: Path) -> None:
    colorizer = load_colorizer(device="cpu")
    sample = sorted(SAMPLES.glob("*.jpg"))[0]
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / sample.name).write_bytes(sample.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    from rscolor.data.images import write_png

    truth = read_rgb(sample)
    write_png(out / f"{sample.stem}.png", colorizer.colorize_lum(colorizer.space.split(truth)[0]))
    figure = tmp_path / "fig.png"
    demo_main([str(samples), str(out), str(figure)])
    assert figure.stat().st_size > 10_000
