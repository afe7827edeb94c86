"""Cloud-Optimized GeoTIFF output: validated by rio-cogeo, overviews, georeference, mask."""

from pathlib import Path

import numpy as np
import pytest

from rscolor.errors import UserError
from rscolor.scene.output import RasterOptions, colorize_raster
from rscolor.scene.pipeline import SceneOptions

from .helpers import read_geotiff, samples_mosaic, tiny_colorizer, write_geotiff

QUIET = SceneOptions(progress=False)
COLLAR = 40  # nodata columns on the left of the test scene


@pytest.fixture(scope="module")
def colorizer():
    return tiny_colorizer()


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, dict]:
    """A 600 x 750 georeferenced 8-bit scene of real AID images with a nodata collar and a
    nodata hole: larger than one 512 px COG tile, so the COG needs overviews."""
    data = np.maximum(samples_mosaic(4, 5), 1)  # real pixels are never nodata
    data[:, :COLLAR] = 0
    data[300:340, 400:460] = 0
    path = tmp_path_factory.mktemp("cog") / "pan.tif"
    return path, write_geotiff(path, data, nodata=0, pixel=0.5)


def test_cog_output_is_a_valid_cog_with_overviews_georeference_and_mask(
    colorizer, scene, tmp_path: Path
) -> None:
    import rasterio
    from rio_cogeo.cogeo import cog_info, cog_validate

    src, profile = scene
    out = tmp_path / "out.tif"
    report = colorize_raster(colorizer, src, out, QUIET)
    valid, errors, warnings = cog_validate(str(out), strict=True)
    assert valid and not errors and not warnings, (errors, warnings)
    info = cog_info(str(out))
    assert info.Profile.InternalMask and info.Profile.Bands == 3
    assert len(info.IFD) >= 2  # full resolution + at least one overview
    with rasterio.open(out) as dst:
        assert dst.overviews(1) == [2] and dst.block_shapes[0] == (512, 512)
        assert dst.crs.to_string() == profile["crs"] and dst.transform == profile["transform"]
        assert dst.nodata == 0 and dst.compression.value == "DEFLATE"
        assert dst.mask_flag_enums[0] == [rasterio.enums.MaskFlags.per_dataset]
        mask = dst.read_masks(1)
        assert (mask[:, :COLLAR] == 0).all() and (mask[300:340, 400:460] == 0).all()
        hole = np.zeros(mask.shape, bool)
        hole[:, :COLLAR] = hole[300:340, 400:460] = True
        assert (mask[~hole] == 255).all()  # everything else visible
        rgb = dst.read()
        overview_mask = dst.read_masks(1, out_shape=(300, 375))  # read from the overview
    assert (rgb[:, :, :COLLAR] == 0).all() and (rgb[:, :300, COLLAR:] > 0).all()
    assert (overview_mask[:, : COLLAR // 2] == 0).all()
    assert (overview_mask[150:170, 200:230] == 0).all()
    assert overview_mask[:140, 30:].min() == 255
    assert report.output_format == "cog" and report.finish_seconds > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_gtiff_format_and_cog_hold_the_same_pixels(colorizer, scene, tmp_path: Path) -> None:
    import rasterio

    src, _ = scene
    colorize_raster(colorizer, src, tmp_path / "c.tif", QUIET)
    gtiff = RasterOptions(output_format="gtiff")
    colorize_raster(colorizer, src, tmp_path / "g.tif", QUIET, gtiff)
    with rasterio.open(tmp_path / "g.tif") as g:
        assert g.overviews(1) == [] and g.block_shapes[0] == (256, 256)
    np.testing.assert_array_equal(
        read_geotiff(tmp_path / "c.tif")[0], read_geotiff(tmp_path / "g.tif")[0]
    )
    with pytest.raises(UserError, match="unknown --format 'png'"):
        RasterOptions(output_format="png")


def test_input_without_nodata_gets_no_mask(colorizer, tmp_path: Path) -> None:
    import rasterio

    write_geotiff(tmp_path / "in.tif", samples_mosaic(1, 2))
    colorize_raster(colorizer, tmp_path / "in.tif", tmp_path / "o.tif", QUIET)
    with rasterio.open(tmp_path / "o.tif") as dst:
        assert dst.nodata is None
        assert dst.mask_flag_enums[0] == [rasterio.enums.MaskFlags.all_valid]


def test_cli_format_option(scene, tmp_path: Path, capsys) -> None:
    import rasterio

    from rscolor.cli.main import main

    from .helpers import save_tiny_checkpoint

    src, _ = scene
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pt")
    common = ["colorize", str(src), "--checkpoint", str(ckpt), "--quiet"]
    main([*common, "-o", str(tmp_path / "cog")])
    main([*common, "-o", str(tmp_path / "plain"), "--format", "gtiff"])
    with rasterio.open(tmp_path / "cog" / "pan.tif") as c:
        assert c.overviews(1) == [2]
    with rasterio.open(tmp_path / "plain" / "pan.tif") as g:
        assert g.overviews(1) == []
    assert "+ COG" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main([*common, "-o", str(tmp_path / "bad"), "--format", "jpeg"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and err == ["rscolor: error: unknown --format 'jpeg': cog or gtiff"]
    assert not (tmp_path / "bad").exists()
