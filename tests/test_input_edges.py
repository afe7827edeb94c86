"""Issue 23, items 7, 11-14: the ground pixel size from the transform's true scale and the
unit GDAL reports; complex rasters refused; write errors that name the real reason and the
real output; a legal 250-character name; alpha kept; .img found in folders; the Ctrl-C
message of colorize."""

from __future__ import annotations

import errno
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rscolor.errors import UserError
from rscolor.utils.io import write_error

from .helpers import assert_user_error, run_cli, save_tiny_checkpoint

rasterio = pytest.importorskip("rasterio")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("m") / "tiny.pt")


def _raster(path: Path, transform=None, crs: str = "EPSG:32633", driver: str = "GTiff",
            dtype: str = "uint16") -> Path:  # fmt: skip
    data = (np.arange(40 * 40).reshape(40, 40) % 997).astype(dtype)
    profile = {
        "driver": driver,
        "width": 40,
        "height": 40,
        "count": 1,
        "dtype": dtype,
        "crs": crs,
        "transform": transform or rasterio.Affine(0.5, 0, 5e5, 0, -0.5, 4e6),
    }
    with rasterio.open(path, "w", **profile) as dst:  # fmt: skip
        dst.write(data, 1)
    return path


def _pixel_size(path: Path) -> float | None:
    from rscolor.scene.raster import RasterSource

    with RasterSource(path) as src:
        return src.pixel_size


# ------------------------------------------------------------------ 7: pixel size
def test_an_erdas_img_in_meters_has_the_geotiffs_pixel_size(tmp_path) -> None:
    img = _raster(tmp_path / "scene.img", driver="HFA")
    tif = _raster(tmp_path / "scene.tif")
    assert _pixel_size(tif) == pytest.approx(0.5)
    assert _pixel_size(img) == pytest.approx(0.5)


@pytest.mark.parametrize("degrees", [30, 90, 180])
def test_a_rotated_transform_keeps_its_pixel_size(tmp_path, degrees) -> None:
    transform = rasterio.Affine.translation(5e5, 4e6) @ rasterio.Affine.rotation(degrees)
    transform = transform @ rasterio.Affine.scale(2.0, -2.0)
    assert _pixel_size(_raster(tmp_path / "rot.tif", transform)) == pytest.approx(2.0)


def test_feet_are_converted_and_degrees_give_no_ground_size(tmp_path) -> None:
    feet = _raster(tmp_path / "feet.tif", rasterio.Affine(10, 0, 6e6, 0, -10, 2e6), "EPSG:2227")
    assert _pixel_size(feet) == pytest.approx(10 * 0.3048006096)
    geo = _raster(tmp_path / "geo.tif", rasterio.Affine(1e-4, 0, 10, 0, -1e-4, 50), "EPSG:4326")
    assert _pixel_size(geo) is None


# --------------------------------------------------------------- 11: complex rasters
@pytest.mark.parametrize("stretch", ["auto", "none"])
def test_a_complex_raster_is_refused_with_a_reason(tmp_path, capsys, model, stretch) -> None:
    src = _raster(tmp_path / "c64.tif", dtype="complex64")
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", src, "-o", out, "--checkpoint", model, "--stretch",
                            stretch, "--quiet"], capsys)  # fmt: skip
    assert_user_error(code, err, "band 1 is complex (complex64): convert it to real values")
    assert not (out / "c64.tif").exists()


# ------------------------------------------------------------ 12: write errors
def test_a_full_disk_under_a_pillow_internal_error_names_the_disk() -> None:
    full = OSError(errno.EFBIG, "File too large")
    full.__context__ = AttributeError("'_idat' object has no attribute 'fileno'")
    message = str(write_error(Path("out/a.png"), full))
    assert message.startswith("cannot write out/a.png: File too large"), message
    assert "fileno" not in message


def test_a_failed_cog_step_names_the_output_not_its_temporary(tmp_path) -> None:
    from rscolor.scene.raster import write_cog

    broken = tmp_path / ".a.tif.x1y2.tmp.tif.tiled.tif"
    broken.write_bytes(b"II*\x00 not a whole tiff")
    with pytest.raises(UserError) as failure:
        write_cog(broken, tmp_path / ".a.tif.x1y2.tmp.tif", 1, tmp_path / "a.tif")
    assert str(failure.value).startswith(f"cannot write {tmp_path / 'a.tif'}: ")
    assert ".tmp" not in str(failure.value)


# -------------------------------------------------------------- 13: long names
def test_a_legal_250_character_name_is_colorized(tmp_path, capsys, model) -> None:
    name = "n" * 246 + ".png"
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((20, 20), 90, np.uint8)).save(folder / name)
    code, _, err = run_cli(["colorize", folder, "-o", tmp_path / "out", "--checkpoint", model,
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "out" / name).is_file()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [name]


# ------------------------------------------------------------- 14: leftovers
@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_kept_as_alpha(tmp_path, capsys, model, mode) -> None:
    gray = np.full((20, 20), 120, np.uint8)
    alpha = np.zeros((20, 20), np.uint8)
    alpha[:, 10:] = 255  # the left half transparent
    bands = [gray, alpha] if mode == "LA" else [gray, gray, gray, alpha]
    Image.fromarray(np.dstack(bands), mode).save(tmp_path / "a.png")
    code, _, err = run_cli(["colorize", tmp_path / "a.png", "-o", tmp_path / "out",
                            "--checkpoint", model, "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    with Image.open(tmp_path / "out" / "a.png") as out:
        assert out.mode == "RGBA"
        assert np.array_equal(np.asarray(out)[..., 3], alpha)


def test_an_erdas_img_is_found_in_a_folder_scan(tmp_path, capsys, model) -> None:
    folder = tmp_path / "hfa"
    folder.mkdir()
    _raster(folder / "scene.img", driver="HFA")
    code, _, err = run_cli(["colorize", folder, "-o", tmp_path / "out", "--checkpoint", model,
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "out" / "scene.tif").is_file()


@pytest.mark.parametrize(("command", "hint"), [("colorize", False), ("train", True)])
def test_the_interrupt_message_speaks_of_resume_only_for_training(
    monkeypatch, capsys, command, hint
) -> None:
    import typer

    from rscolor.cli import colorize_cmd, train_cmd

    def interrupted(_opts) -> None:
        raise typer.Exit(130)  # what typer returns for Ctrl-C inside a command

    monkeypatch.setattr(colorize_cmd, "run_colorize", interrupted)
    monkeypatch.setattr(train_cmd, "run_train", interrupted)
    args = ["colorize", "x.png", "-o", "out"] if command == "colorize" else ["train", "-c", "c"]
    code, _, err = run_cli(args, capsys)
    assert code == 130
    assert err.startswith("rscolor: interrupted")
    assert ("--resume" in err) is hint and "training" not in err.replace("the training run", "")
    assert math.isfinite(code)
