"""Output formats are rows of one table (rscolor.scene.formats.FORMATS): the CLI help,
planning and writing read it, and a new row is a new --format with nothing else edited."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rscolor.errors import UserError
from rscolor.scene import formats
from rscolor.scene.formats import FORMATS, OutputFormat, SinkSpec, format_help, raster_format
from rscolor.scene.output import RasterOptions, colorize_raster
from rscolor.scene.pipeline import SceneOptions

from .helpers import smooth_field, tiny_colorizer, write_geotiff


def test_the_table_holds_png_gtiff_and_cog() -> None:
    assert set(FORMATS) == {"png", "gtiff", "cog"}
    assert formats.raster_formats() == ("cog", "gtiff")
    assert FORMATS["cog"].finish is not None and FORMATS["gtiff"].finish is None
    assert "cog (" in format_help() and "gtiff (" in format_help()
    with pytest.raises(UserError, match="unknown --format 'png': cog or gtiff"):
        raster_format("png")


class NumpySink:
    """A toy format: the RGB blocks kept in memory, saved as .npy when closed."""

    def __init__(self, path: Path, spec: SinkSpec) -> None:
        self.path, self.rgb = path, np.zeros((spec.height, spec.width, 3), np.uint8)

    def write(self, row0: int, col0: int, rgb: np.ndarray, valid: np.ndarray) -> None:
        self.rgb[row0 : row0 + rgb.shape[0], col0 : col0 + rgb.shape[1]] = rgb

    def close(self) -> None:
        with open(self.path, "wb") as f:
            np.save(f, self.rgb)


def check_npy(path: Path, width: int, height: int) -> None:
    if np.load(path).shape != (height, width, 3):
        raise UserError("has the wrong size")


def test_a_new_row_is_a_new_format(tmp_path: Path, monkeypatch) -> None:
    row = OutputFormat("npy", ".npy", "raster", "numpy array", NumpySink, check_npy)
    monkeypatch.setitem(FORMATS, "npy", row)
    assert "npy (numpy array)" in format_help()
    src = tmp_path / "in.tif"
    write_geotiff(src, (smooth_field(40, 56) * 60000).astype(np.uint16))
    col, quiet = tiny_colorizer(), SceneOptions(progress=False)
    report = colorize_raster(
        col, src, tmp_path / "o.npy", quiet, RasterOptions(output_format="npy")
    )
    assert report.output_format == "npy" and np.load(tmp_path / "o.npy").shape == (40, 56, 3)
    colorize_raster(col, src, tmp_path / "o.tif", quiet, RasterOptions(output_format="gtiff"))
    import rasterio

    with rasterio.open(tmp_path / "o.tif") as gtiff:
        np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), gtiff.read().transpose(1, 2, 0))
