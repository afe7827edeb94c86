"""Windowed raster I/O with rasterio/GDAL: read one band in rows, write a tiled RGB GeoTIFF.

rasterio is imported inside the functions of this module only, so training and the rest
of the package never import GDAL (it is the optional ``geo`` extra).

Values become gray in [0, 1] through a :class:`Stretch`: 8-bit data is used as is
(v / 255); other data gets a robust percentile stretch (2nd to 98th percentile of the valid
pixels, read from a decimated view) unless the user sets the range or turns it off.
Invalid pixels (nodata, the dataset mask, NaN) are reported as a mask, never as values.

Outputs are written in windows as a tiled GeoTIFF with the input's nodata and, where the
input can have invalid pixels, an internal mask band (viewers show it as transparent).
:func:`write_cog` then turns that file into a Cloud-Optimized GeoTIFF with GDAL's own COG
driver (tiles, overviews, compression; it streams through GDAL's block cache, so memory
stays bounded for any scene size).
"""

from __future__ import annotations

import contextlib
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rscolor.errors import UserError
from rscolor.scene.scale import ground_pixel_size

RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".jp2", ".j2k", ".vrt", ".ntf")
StretchMode = Literal["auto", "percentile", "none"]
GDAL_CACHE_MB = 64  # GDAL's block cache counts in our RSS; its default is 5% of RAM
SAMPLE_SIDE = 1024  # the percentile stretch reads at most this many pixels a side
OUTPUT_BLOCK = 256
COG_BLOCK = 512  # GDAL's COG default: fewer, larger HTTP range reads when streamed


@dataclass(frozen=True)
class Stretch:
    """Linear map of raw values [low, high] to gray [0, 1], clipped."""

    low: float
    high: float

    def apply(self, values: np.ndarray) -> np.ndarray:
        span = max(self.high - self.low, 1e-12)
        return np.clip((values.astype(np.float32) - self.low) / span, 0.0, 1.0)


@dataclass(frozen=True)
class RasterInfo:
    width: int
    height: int
    count: int
    dtype: str
    georeferenced: bool


def _rasterio():
    try:
        import rasterio
    except ImportError:  # pragma: no cover - the geo extra is installed in tests
        raise UserError("reading rasters needs rasterio: pip install 'rscolor[geo]'") from None
    return rasterio


def rasterio_available() -> bool:
    from importlib.util import find_spec

    return find_spec("rasterio") is not None


@contextlib.contextmanager
def gdal_env(threads: int | None = None) -> Iterator[None]:
    """GDAL settings for a run: a bounded block cache, compression threads."""
    rasterio = _rasterio()
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB, GDAL_NUM_THREADS=str(threads or "ALL_CPUS")):
        yield


def dataset_path(path: str | Path) -> str | Path:
    """A GDAL virtual path (``/vsis3/...``, ``/vsicurl/https://...``) stays a string (a
    Path would fold its ``//``); anything else is a local Path."""
    text = str(path)
    return text if text.startswith("/vsi") else Path(path)


def _open(path: str | Path) -> Any:
    rasterio = _rasterio()
    if isinstance(path, Path) and not path.is_file():
        raise UserError(f"file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise UserError(f"cannot read raster {path}: {_first_line(exc)}") from None
    except (rasterio.errors.RasterioError, UnicodeDecodeError, ValueError) as exc:
        # a damaged header: a CRS that is not text, say (found by tests/test_fuzz.py)
        raise UserError(f"cannot read raster {path}: damaged ({exc.__class__.__name__})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def describe(path: str | Path) -> RasterInfo:
    """Size, bands, data type and whether the file carries georeferencing."""
    rasterio = _rasterio()
    with _open(dataset_path(path)) as src:
        georef = (
            src.crs is not None or bool(src.gcps[0]) or src.transform != rasterio.Affine.identity()
        )
        return RasterInfo(src.width, src.height, src.count, src.dtypes[0], georef)


def default_range(dtype: str) -> tuple[float, float]:
    """The value range a type means when no stretch is asked for."""
    if np.issubdtype(np.dtype(dtype), np.integer):
        return 0.0, float(np.iinfo(np.dtype(dtype)).max)
    return 0.0, 1.0


class RasterSource:
    """One band of a raster, read in rows: gray in [0, 1] and a validity mask."""

    def __init__(
        self,
        path: str | Path,
        band: int | None = None,
        stretch: StretchMode = "auto",
        percentiles: tuple[float, float] = (2.0, 98.0),
        value_range: tuple[float, float] | None = None,
    ) -> None:
        self.path = dataset_path(path)
        self._src = _open(self.path)
        try:
            self.band = self._pick_band(band)
            self._refuse_complex()
            self.stretch = self._make_stretch(stretch, percentiles, value_range)
        except BaseException:
            self._src.close()
            raise

    # ----------------------------------------------------------------- properties
    @property
    def height(self) -> int:
        return int(self._src.height)

    @property
    def width(self) -> int:
        return int(self._src.width)

    @property
    def dtype(self) -> str:
        return str(self._src.dtypes[self.band - 1])

    @property
    def nodata(self) -> float | None:
        return self._src.nodatavals[self.band - 1]

    @property
    def may_have_invalid(self) -> bool:
        """Whether some pixels can be invalid: a nodata value, a mask, or float data (NaN)."""
        flags = self._src.mask_flag_enums[self.band - 1]
        all_valid = _rasterio().enums.MaskFlags.all_valid
        return self.nodata is not None or flags != [all_valid] or self.dtype.startswith("float")

    @property
    def pixel_size(self) -> float | None:
        """Ground size of a pixel in metres, where the CRS is projected (`ground_pixel_size`)."""
        return ground_pixel_size(self._src.crs, self._src.transform)

    def georeference(self) -> dict[str, Any]:
        """What the output must keep: CRS, transform and ground control points."""
        gcps, gcp_crs = self._src.gcps
        return {"crs": self._src.crs, "transform": self._src.transform, "gcps": (gcps, gcp_crs)}

    # ------------------------------------------------------------------- reading
    def read(self, row0: int, row1: int, col0: int, col1: int) -> tuple[np.ndarray, np.ndarray]:
        """The window rows [row0, row1) x columns [col0, col1): (gray float32 in [0, 1],
        valid bool)."""
        from rasterio.windows import Window

        window = Window(col0, row0, col1 - col0, row1 - row0)
        try:
            raw = self._src.read(self.band, window=window)
            mask = self._src.read_masks(self.band, window=window)
        except _rasterio().errors.RasterioIOError as exc:
            raise UserError(f"cannot read raster {self.path}: {_first_line(exc)}") from None
        valid = mask > 0
        if raw.dtype.kind == "f":
            valid &= np.isfinite(raw)
        return self.stretch.apply(np.where(valid, raw, 0)), valid

    def close(self) -> None:
        self._src.close()

    def __enter__(self) -> RasterSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pick_band(self, band: int | None) -> int:
        count = self._src.count
        if band is None:
            if count == 1:
                return 1
            raise UserError(f"{self.path} has {count} bands: choose one with --band N (1-{count})")
        if not 1 <= band <= count:
            raise UserError(f"band {band} out of range: {self.path} has {count} band(s)")
        return band

    def _refuse_complex(self) -> None:
        """Complex samples (radar SLC) have no one gray value: stretching them fails and
        casting drops the imaginary part silently."""
        if self.dtype.startswith("complex"):
            raise UserError(
                f"{self.path}: band {self.band} is complex ({self.dtype}): convert it to "
                "real values first, e.g. its amplitude (gdal_calc.py --calc 'abs(A)')"
            )

    def _make_stretch(
        self,
        mode: StretchMode,
        percentiles: tuple[float, float],
        value_range: tuple[float, float] | None,
    ) -> Stretch:
        if value_range is not None:
            low, high = value_range
            if not high > low:
                raise UserError(f"--value-range needs LOW < HIGH, got {low},{high}")
            return Stretch(low, high)
        if mode not in ("auto", "percentile", "none"):
            raise UserError(f"unknown stretch {mode!r}: auto, percentile or none")
        if mode == "none" or (mode == "auto" and self.dtype == "uint8"):
            return Stretch(*default_range(self.dtype))
        low_p, high_p = percentiles
        if not 0 <= low_p < high_p <= 100:
            raise UserError(f"--percentiles needs 0 <= LOW < HIGH <= 100, got {low_p},{high_p}")
        sample = self._sample()
        low, high = np.percentile(sample, [low_p, high_p])
        if not high > low:  # a flat image: centre its value
            low, high = float(low) - 0.5, float(low) + 0.5
        return Stretch(float(low), float(high))

    def _sample(self) -> np.ndarray:
        """Valid values of a decimated read (GDAL uses overviews where the file has them)."""
        shape = (min(self.height, SAMPLE_SIDE), min(self.width, SAMPLE_SIDE))
        try:
            data = self._src.read(self.band, out_shape=shape, masked=True)
        except _rasterio().errors.RasterioIOError as exc:  # a truncated or damaged file
            raise UserError(f"cannot read raster {self.path}: {_first_line(exc)}") from None
        values = data.compressed() if np.ma.isMaskedArray(data) else np.asarray(data).ravel()
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise UserError(f"{self.path}: band {self.band} has no valid pixels")
        return values


def output_nodata(nodata: float | None) -> int | None:
    """The input's nodata if it fits in 8 bits, else 0; None stays None."""
    if nodata is None or np.isnan(nodata):
        return None if nodata is None else 0
    return int(nodata) if float(nodata).is_integer() and 0 <= nodata <= 255 else 0


class GeoTiffSink:
    """A tiled, deflate-compressed 8-bit RGB GeoTIFF written in windows; with `mask`, an
    internal per-dataset mask band marks the invalid pixels too (0 = invalid)."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        georeference: dict[str, Any],
        nodata: int | None,
        block: int = OUTPUT_BLOCK,
        mask: bool = False,
        zlevel: int = 6,
    ) -> None:
        rasterio = _rasterio()
        self.nodata = nodata
        self.mask = mask
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": 3,
            "dtype": "uint8",
            "crs": georeference.get("crs"),
            "transform": georeference.get("transform"),
            "nodata": nodata,
            "tiled": True,
            "blockxsize": block,
            "blockysize": block,
            "compress": "deflate",
            "predictor": 2,
            "zlevel": zlevel,
            "photometric": "RGB",
            "interleave": "pixel",
            "BIGTIFF": "IF_SAFER",
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
                self._dst = rasterio.open(path, "w", **profile)
        gcps, gcp_crs = georeference.get("gcps") or ([], None)
        if gcps:
            self._dst.gcps = (gcps, gcp_crs)

    def write(self, row0: int, col0: int, rgb: np.ndarray, valid: np.ndarray) -> None:
        """rgb: h x w x 3 uint8 at (row0, col0); invalid pixels become nodata, valid ones
        are kept off the nodata value (GDAL reads nodata per band)."""
        from rasterio.windows import Window

        data = np.moveaxis(rgb, -1, 0).copy()
        nd = self.nodata
        if nd is not None:
            data[:, valid] = np.where(
                data[:, valid] == nd, nd + 1 if nd < 255 else nd - 1, data[:, valid]
            )
        data[:, ~valid] = nd or 0
        window = Window(col0, row0, *valid.shape[::-1])
        self._dst.write(data, window=window)
        if self.mask:
            self._dst.write_mask(np.where(valid, 255, 0).astype(np.uint8), window=window)

    def close(self) -> None:
        self._dst.close()


def write_cog(
    src: str | Path, dst: str | Path, threads: int | None = None, name: str | Path | None = None
) -> None:
    """Copy the tiled GeoTIFF `src` to a Cloud-Optimized GeoTIFF `dst` with GDAL's COG
    driver: 512 px tiles, overviews down to one tile (averaged), deflate with a predictor,
    the mask band, CRS, transform and nodata kept. Errors name `name` (the output the user
    asked for; `dst` is its hidden temporary file)."""
    rasterio = _rasterio()
    from rasterio.shutil import copy

    try:
        copy(
            str(src),
            str(dst),
            driver="COG",
            BLOCKSIZE=COG_BLOCK,
            COMPRESS="DEFLATE",
            PREDICTOR="YES",
            OVERVIEWS="AUTO",
            OVERVIEW_RESAMPLING="AVERAGE",
            BIGTIFF="IF_SAFER",
            NUM_THREADS=str(threads or "ALL_CPUS"),
        )
    except (rasterio.errors.RasterioError, rasterio._err.CPLE_BaseError) as exc:
        # GDAL's own errors (a truncated tiled input after a failed write, say) are not
        # RasterioErrors.
        gdal = _first_line(exc)
        for temporary in (str(src), str(dst), Path(src).name, Path(dst).name):
            gdal = gdal.replace(f"{temporary}: ", "")
        reason = _disk_full(dst) or gdal
        raise UserError(f"cannot write {name or dst}: {reason}") from None


def _disk_full(path: str | Path) -> str | None:
    """GDAL reports a full disk in the COG step as a TIFF directory error: say what it is."""
    try:
        free = shutil.disk_usage(Path(path).parent).free
    except OSError:
        return None
    full = free < 2**20
    return "No space left on device (nothing was written under the final name)" if full else None


def check_geotiff(path: str | Path, width: int, height: int, rows: int = 1024) -> None:
    """Read a written GeoTIFF back in full, in strips of `rows`: GDAL reports a failed
    write (a full disk) only on its log, and the file under the final name must be whole."""
    from rasterio.windows import Window

    from rscolor.utils.io import error_reason

    rasterio = _rasterio()
    try:
        with rasterio.open(path) as dst:
            if (dst.width, dst.height, dst.count) != (width, height, 3):
                raise UserError("has the wrong size or band count")
            for row0 in range(0, height, rows):
                dst.read(window=Window(0, row0, width, min(rows, height - row0)))
    except rasterio.errors.RasterioError as exc:
        raise UserError(f"does not read back ({error_reason(exc)})") from None
