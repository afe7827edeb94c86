"""GeoTIFF in, GeoTIFF out: georeferencing, nodata, 16-bit and float stretch, band choice."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rscolor.color import gray_lightness, rgb_to_lab
from rscolor.errors import UserError
from rscolor.scene.output import RasterOptions, colorize_raster
from rscolor.scene.pipeline import SceneOptions
from rscolor.scene.raster import RasterSource, Stretch, output_nodata

from .helpers import read_geotiff, smooth_field, tiny_colorizer, write_geotiff

QUIET = SceneOptions(progress=False)


@pytest.fixture(scope="module")
def colorizer():
    return tiny_colorizer()


def lightness(rgb_bands: np.ndarray) -> np.ndarray:
    return rgb_to_lab(np.moveaxis(rgb_bands, 0, -1).astype(np.float32) / 255.0)[..., 0]


def test_crs_transform_and_nodata_survive(colorizer, tmp_path: Path) -> None:
    data = (1000 + 3000 * smooth_field(70, 90)).astype(np.uint16)
    data[:10, :25] = 0
    profile = write_geotiff(tmp_path / "in.tif", data, nodata=0)
    report = colorize_raster(colorizer, tmp_path / "in.tif", tmp_path / "out.tif", QUIET)
    out, got = read_geotiff(tmp_path / "out.tif")
    assert got["crs"].to_string() == profile["crs"]
    assert got["transform"] == profile["transform"]
    assert got["nodata"] == 0 and got["count"] == 3 and got["dtype"] == "uint8"
    assert got["tiled"] and got["compress"] == "deflate"
    assert (out[:, :10, :25] == 0).all()  # nodata stays nodata
    assert (out[:, 10:, :] != 0).all() and (
        out[:, :, 25:] != 0
    ).all()  # valid never reads as nodata
    assert report.width == 90 and report.height == 70
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_nodata_is_not_fed_to_the_model_as_black(tmp_path: Path) -> None:
    """Bright valid data next to a nodata block of zeros: the model never sees L = 0."""
    col = tiny_colorizer()
    seen: list[float] = []
    predict = col.predict_batch

    def spy(lum: torch.Tensor) -> torch.Tensor:
        seen.append(float(lum.min()))
        return predict(lum)

    col.predict_batch = spy  # type: ignore[method-assign]
    data = np.full((64, 64), 200, np.uint8)
    data[:, :40] = 0
    write_geotiff(tmp_path / "in.tif", data, nodata=0)
    colorize_raster(
        col, tmp_path / "in.tif", tmp_path / "out.tif", SceneOptions(progress=False, scale=0.5)
    )
    assert seen and min(seen) > 0.5  # gray 200/255 is L ~ 81, normalised 0.62


def test_float_nodata_that_does_not_fit_8_bits_becomes_0(colorizer, tmp_path: Path) -> None:
    data = smooth_field(40, 40).astype(np.float32)
    data[0, :] = -9999.0
    data[1, 0] = np.nan
    write_geotiff(tmp_path / "f.tif", data, nodata=-9999.0)
    colorize_raster(colorizer, tmp_path / "f.tif", tmp_path / "o.tif", QUIET)
    out, got = read_geotiff(tmp_path / "o.tif")
    assert got["nodata"] == 0
    assert (out[:, 0] == 0).all() and (out[:, 1, 0] == 0).all() and (out[:, 2:] > 0).all()
    assert output_nodata(None) is None and output_nodata(255) == 255 and output_nodata(-1) == 0


def test_16_bit_percentile_stretch_and_full_res_luminance(colorizer, tmp_path: Path) -> None:
    """16-bit data in [1000, 3000] is stretched to the full gray range (by default and with
    --value-range); the output's lightness is the stretched input's, at every pixel."""
    field = smooth_field(96, 80, seed=3)
    data = (1000 + 2000 * field).astype(np.uint16)
    write_geotiff(tmp_path / "in.tif", data)
    with RasterSource(tmp_path / "in.tif") as src:
        low, high = src.stretch.low, src.stretch.high
        gray, valid = src.read(0, 96, 0, 80)
    assert 1000 <= low < 1300 and 2700 < high <= 3000 and valid.all()
    assert gray.min() == 0 and gray.max() == 1
    for scale in (1.0, 0.5):
        colorize_raster(
            colorizer,
            tmp_path / "in.tif",
            tmp_path / "o.tif",
            SceneOptions(scale=scale, progress=False),
            force=True,
        )
        out, _ = read_geotiff(tmp_path / "o.tif")
        diff = np.abs(lightness(out) - gray_lightness(gray))
        assert np.percentile(diff, 99) < 1.0 and diff.max() < 3.0  # uint8 rounding, gamut
    ranged = RasterOptions(value_range=(0, 4000))
    colorize_raster(colorizer, tmp_path / "in.tif", tmp_path / "r.tif", QUIET, ranged)
    expected = Stretch(0, 4000).apply(data)
    np.testing.assert_allclose(
        lightness(read_geotiff(tmp_path / "r.tif")[0]), gray_lightness(expected), atol=3.0
    )


def test_stretch_none_uses_the_type_range(colorizer, tmp_path: Path) -> None:
    data = (1000 + 2000 * smooth_field(40, 40)).astype(np.uint16)
    write_geotiff(tmp_path / "in.tif", data)
    with RasterSource(tmp_path / "in.tif", stretch="none") as src:
        assert (src.stretch.low, src.stretch.high) == (0.0, 65535.0)
    with RasterSource(tmp_path / "in.tif", stretch="percentile", percentiles=(0, 100)) as src:
        assert (src.stretch.low, src.stretch.high) == (float(data.min()), float(data.max()))
    write_geotiff(tmp_path / "b.tif", (255 * smooth_field(40, 40)).astype(np.uint8))
    with RasterSource(tmp_path / "b.tif") as src:  # 8-bit: auto means no stretch
        assert (src.stretch.low, src.stretch.high) == (0.0, 255.0)


def test_band_of_a_multi_band_raster(colorizer, tmp_path: Path) -> None:
    bands = np.stack([(60000 * smooth_field(48, 48, seed=s)).astype(np.uint16) for s in (1, 2, 3)])
    write_geotiff(tmp_path / "ms.tif", bands)
    colorize_raster(
        colorizer, tmp_path / "ms.tif", tmp_path / "o.tif", QUIET, RasterOptions(band=2)
    )
    light = lightness(read_geotiff(tmp_path / "o.tif")[0]).ravel()
    corr = [np.corrcoef(light, b.ravel().astype(float))[0, 1] for b in bands]
    assert corr[1] > 0.99 and corr[1] > corr[0] + 0.1 and corr[1] > corr[2] + 0.1
    with pytest.raises(UserError, match="choose one with --band"):
        colorize_raster(colorizer, tmp_path / "ms.tif", tmp_path / "x.tif", QUIET)
    with pytest.raises(UserError, match="band 4 out of range"):
        colorize_raster(
            colorizer, tmp_path / "ms.tif", tmp_path / "x.tif", QUIET, RasterOptions(band=4)
        )
    assert not (tmp_path / "x.tif").exists()


def test_unreadable_raster_and_bad_options(colorizer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00" + b"junk" * 20)
    with pytest.raises(UserError, match="cannot read raster"):
        colorize_raster(colorizer, bad, tmp_path / "o.tif", QUIET)
    write_geotiff(tmp_path / "in.tif", np.full((8, 8), 5, np.uint16))
    with pytest.raises(UserError, match="LOW < HIGH"):
        RasterSource(tmp_path / "in.tif", value_range=(5, 5))
    with pytest.raises(UserError, match="percentiles"):
        RasterSource(tmp_path / "in.tif", percentiles=(50, 10))
    with RasterSource(tmp_path / "in.tif") as flat:  # a flat image still maps somewhere
        assert flat.stretch.high > flat.stretch.low
