"""Colorize image files: plan every output first (so nothing is half done when one output
already exists), then write each atomically.

Ordinary 8-bit pictures (PNG, JPEG, BMP, and TIFFs without georeferencing) give PNGs.
Rasters (georeferenced, 16-bit or float, other band layouts, very large, or any input
with ``--band``) go through the scene pipeline (:mod:`rscolor.scene.pipeline`) and give
an RGB Cloud-Optimized GeoTIFF (or, with ``--format gtiff``, a tiled GeoTIFF) that keeps
the input's CRS, transform and nodata.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rscolor.color import rgb_luminance_gray
from rscolor.data.images import (
    IMAGE_SUFFIXES,
    find_images,
    is_image_path,
    open_picture,
    read_gray,
)
from rscolor.errors import UserError
from rscolor.inference.colorizer import Colorizer
from rscolor.scene import raster
from rscolor.scene.formats import DEFAULT_RASTER_FORMAT, FORMATS, SinkSpec, output_format
from rscolor.scene.output import RasterOptions, colorize_raster, write_output
from rscolor.scene.pipeline import (
    TILE_FACTOR,
    SceneOptions,
    SceneReport,
    colorize_array,
    colorize_into,
)
from rscolor.scene.scale import resolve_scale
from rscolor.scene.sources import Sink
from rscolor.utils.io import check_output, resolved

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
PICTURE_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr")  # 8 bits a channel
SCENE_MIN_PIXELS = 8192 * 8192  # an ordinary TIFF this large is read in windows


def _picture_mode(path: Path) -> str:
    with open_picture(path) as img:
        return img.mode


def is_scene_input(path: Path, band: int | None = None) -> bool:
    """Whether `path` goes through the scene pipeline (GeoTIFF out) rather than PNG."""
    if band is not None:
        return True
    if path.suffix.lower() in PICTURE_SUFFIXES:
        return _picture_mode(path) not in PICTURE_MODES
    if not raster.rasterio_available():
        if path.suffix.lower() in (".tif", ".tiff"):
            return False  # Pillow reads ordinary TIFFs
        raise UserError(f"reading {path} needs rasterio: pip install 'rscolor[geo]'")
    info = raster.describe(path)
    return (
        info.georeferenced
        or info.dtype != "uint8"
        or info.count not in (1, 3, 4)
        or info.width * info.height >= SCENE_MIN_PIXELS
    )


def output_suffix(src: str | Path, band: int | None, raster_format: str | None = None) -> str:
    """The suffix of `src`'s output: its format's (:mod:`rscolor.scene.formats`). An
    unreadable file is planned by its own suffix alone: it fails when its turn comes, and
    the rest of a folder run still goes ahead."""
    try:
        scene = is_scene_input(Path(src), band)
    except UserError:
        scene = Path(src).suffix.lower() not in PICTURE_SUFFIXES
    return output_format(scene, raster_format or DEFAULT_RASTER_FORMAT).suffix


def _destination(
    src: Path, relative: Path, out_dir: Path, band: int | None, raster_format: str | None
) -> Path:
    """Where `src`'s output goes."""
    return out_dir / relative.with_suffix(output_suffix(src, band, raster_format))


def _check_writable(folder: Path) -> None:
    """Fail before any work when `folder` cannot be made or written (nothing is created)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"cannot write to {folder}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {folder}: permission denied")


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies under it (both resolved)."""
    return path == folder or folder in path.parents


def _scan(folder: Path, out_dir: Path) -> list[Path]:
    """A folder's images, except those under the output folder (earlier outputs are not
    inputs; refused before this when the output folder is the input folder)."""
    out = out_dir.resolve()
    suffixes = tuple(dict.fromkeys(IMAGE_SUFFIXES + raster.RASTER_SUFFIXES))  # .img, .jp2 too
    return [p for p in find_images(folder, suffixes) if not _inside(p.resolve(), out)]


def _sources(
    inputs: list[Path], out_dir: Path, band: int | None, raster_format: str | None
) -> list[tuple[Path, Path]]:
    jobs: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            if item.resolve() == out_dir.resolve():
                raise UserError(
                    f"the output folder {out_dir} is the input folder: outputs would replace "
                    "or mix with the inputs (choose another --out-dir)"
                )
            jobs += [
                (p, _destination(p, p.relative_to(item), out_dir, band, raster_format))
                for p in _scan(item, out_dir)
            ]
        elif item.is_file():
            if not (is_image_path(item) or item.suffix.lower() in raster.RASTER_SUFFIXES):
                raise UserError(f"not an image file (jpg, png, tif, or a GDAL raster): {item}")
            jobs.append((item, _destination(item, Path(item.name), out_dir, band, raster_format)))
        else:
            raise UserError(f"input not found: {item}")
    return jobs


def plan_outputs(
    inputs: list[Path],
    out_dir: Path,
    force: bool,
    band: int | None = None,
    skip_existing: bool = False,
    raster_format: str | None = None,
) -> list[tuple[Path, Path]]:
    """(source, destination) pairs, each destination with its output format's suffix
    (rasters: `raster_format`, default cog). A folder keeps its files' paths relative to
    it. An output that is an input is refused even with `force`; with `skip_existing`,
    sources whose output exists are left out (resuming a folder run)."""
    if force and skip_existing:
        raise UserError("--force and --skip-existing contradict each other: choose one")
    jobs = _sources(inputs, out_dir, band, raster_format)
    sources = resolved(src for src, _ in jobs)
    seen: dict[Path, Path] = {}
    planned: list[tuple[Path, Path]] = []
    for src, dst in jobs:
        if dst in seen:
            raise UserError(f"{seen[dst]} and {src} would both write {dst}")
        seen[dst] = src
        check_output(dst, force or skip_existing, sources)
        if not (skip_existing and dst.exists()):
            planned.append((src, dst))
    for folder in sorted({dst.parent for _, dst in planned}):
        _check_writable(folder)
    return planned


def _runs_whole(colorizer: Colorizer, gray: np.ndarray, options: SceneOptions) -> bool:
    """Pictures no larger than a default tile, at the model's own scale, run in one pass
    (as they always did); anything larger goes through the tiles, so the model never
    meets inputs far larger than its training crops (the blob artifact)."""
    scale, _ = resolve_scale(options.scale, colorizer.meta, None, gray.shape[:2])
    small = max(gray.shape) <= TILE_FACTOR * colorizer.train_size
    custom = (options.tile, options.overlap, options.margin) != (None, None, None)
    return small and scale == 1.0 and not custom


def colorize_file(
    colorizer: Colorizer,
    src: Path,
    dst: Path,
    options: SceneOptions | None = None,
    raster_options: RasterOptions | None = None,
    threads: int | None = None,
) -> SceneReport | None:
    """Colorize `src` into `dst`: the scene pipeline when `dst` has a raster format's
    suffix (planned by :func:`plan_outputs`), else a picture."""
    options = options or SceneOptions(progress=False)
    raster_options = raster_options or RasterOptions()
    if dst.suffix == FORMATS[raster_options.output_format].suffix:
        return colorize_raster(colorizer, src, dst, options, raster_options, True, threads)
    gray = read_gray(src)
    spec = SinkSpec(gray.shape[1], gray.shape[0], alpha_from=src)

    def run(sink: Sink) -> None:
        if _runs_whole(colorizer, gray, options):
            sink.write(0, 0, colorizer.colorize(gray), np.ones(gray.shape, bool))
        else:
            colorize_into(colorizer, gray, sink, options)

    write_output(output_format(scene=False), dst, spec, run)
    return None


def rgb_colorizer(
    colorizer: Colorizer, scale: float | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """Ground-truth RGB -> colorized RGB from its lightness, for scoring. At a working
    scale other than 1 (given, or chosen per image when `scale` is None, ``--scale
    auto``) the model sees the image resized and its chroma is resampled back (the scene
    pipeline), so metrics stay at the image's own size; at scale 1 it runs on the whole
    image (as `colorize` does for pictures up to twice the training size)."""

    def colorize(rgb: np.ndarray) -> np.ndarray:
        working, _ = resolve_scale(scale, colorizer.meta, None, rgb.shape[:2])
        if working == 1.0:
            return colorizer.colorize_rgb(rgb)
        options = SceneOptions(scale=working, progress=False)
        out = colorize_array(colorizer, rgb_luminance_gray(rgb), options)
        return out.astype(np.float32) / 255.0

    return colorize
