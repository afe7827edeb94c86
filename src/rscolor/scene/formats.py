"""The output formats: one table (:data:`FORMATS`) from a format's name to the sink the
scene pipeline writes into, the finaliser that turns the written file into the output, and
the read-back check made before the output gets its final name (rasterio's pattern: a
driver name and its creation options).

``rscolor colorize`` plans an output by its format's suffix (:mod:`rscolor.inference.batch`),
writes it with :func:`rscolor.scene.output.write_output`, and lists the raster formats in
its ``--format`` help; none of them tests a suffix or a format name of its own.

Adding a format (an object-storage sink, say; ``docs/architecture.md`` has the checklist):
a sink with ``write`` and ``close`` (:class:`OutputSink`), a finaliser if the written file
needs a second step, a read-back check, and one :class:`OutputFormat` row below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rscolor.errors import UserError

if TYPE_CHECKING:
    import numpy as np

# The table is read by the CLI's help, so this module imports nothing heavy: numpy,
# Pillow and rasterio are imported by the functions that use them.


@dataclass(frozen=True)
class SinkSpec:
    """What a sink is opened with: the output's size, and what it keeps of the input (its
    georeference and nodata for rasters, the picture whose alpha it keeps for pictures)."""

    width: int
    height: int
    georeference: dict[str, Any] | None = None
    nodata: int | None = None
    mask: bool = False  # an internal mask band for the input's invalid pixels
    alpha_from: Path | None = None


class OutputSink(Protocol):
    def write(self, row0: int, col0: int, rgb: np.ndarray, valid: np.ndarray) -> None:
        """RGB uint8 h x w x 3 at (row0, col0), and its valid pixels (a :class:`Sink`)."""
        ...

    def close(self) -> None:
        """Flush and close what was written (also after a failed run)."""
        ...


OpenSink = Callable[[Path, SinkSpec], OutputSink]
Finish = Callable[[Path, Path, SinkSpec, "int | None", "str | Path"], None]
Verify = Callable[[Path, int, int], None]


@dataclass(frozen=True)
class OutputFormat:
    """One row of the table. `inputs`: which inputs give it (pictures: 8-bit images without
    georeferencing; rasters: the rest, see :func:`rscolor.inference.batch.is_scene_input`).
    `finish(staged, out, spec, threads, name)`, where set, makes `out` from the file the
    sink wrote (a temporary beside it); `verify(path, width, height)` reads `out` back."""

    name: str
    suffix: str
    inputs: Literal["picture", "raster"]
    help: str
    open_sink: OpenSink
    verify: Verify
    finish: Finish | None = None

    def staging(self, tmp: Path) -> Path:
        """Where the sink writes when the output is `tmp`: a second temporary file when a
        finaliser makes the output from it."""
        return tmp if self.finish is None else tmp.with_name(tmp.name + ".tiled.tif")


# ------------------------------------------------------------------------ PNG
class PngSink:
    """An 8-bit RGB picture held in memory and written as a PNG (RGBA where the input
    picture has alpha) when closed."""

    def __init__(self, path: Path, spec: SinkSpec) -> None:
        import numpy as np

        self.path = path
        self.alpha_from = spec.alpha_from
        self.rgb = np.zeros((spec.height, spec.width, 3), np.uint8)

    def write(self, row0: int, col0: int, rgb: np.ndarray, valid: np.ndarray) -> None:
        """rgb: uint8, or float in [0, 1] (rounded as :func:`write_png` does)."""
        import numpy as np

        if rgb.dtype != np.uint8:
            rgb = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
        self.rgb[row0 : row0 + rgb.shape[0], col0 : col0 + rgb.shape[1]] = rgb

    def close(self) -> None:
        from rscolor.data.images import read_alpha, write_png

        alpha = read_alpha(self.alpha_from) if self.alpha_from is not None else None
        write_png(self.path, self.rgb, alpha)


def check_png(path: Path, width: int, height: int) -> None:
    from rscolor.data.images import check_png

    check_png(path, width, height)


# -------------------------------------------------------------------- GeoTIFF
def _geotiff_sink(zlevel: int) -> OpenSink:
    def open_sink(path: Path, spec: SinkSpec) -> OutputSink:
        from rscolor.scene import raster

        return raster.GeoTiffSink(
            path,
            spec.width,
            spec.height,
            spec.georeference or {},
            spec.nodata,
            mask=spec.mask,
            zlevel=zlevel,
        )

    return open_sink


def check_geotiff(path: Path, width: int, height: int) -> None:
    from rscolor.scene import raster

    raster.check_geotiff(path, width, height)


def finish_cog(
    staged: Path, out: Path, spec: SinkSpec, threads: int | None, name: str | Path
) -> None:
    """The tiled GeoTIFF read back first (a write that failed there, a full disk, is
    reported as such, not as a failed COG conversion), then copied by GDAL's COG driver."""
    from rscolor.scene import raster

    try:
        raster.check_geotiff(staged, spec.width, spec.height)
    except UserError as exc:
        raise UserError(f"cannot write {name}: the written file {exc}") from None
    raster.write_cog(staged, out, threads, name)


FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("png", ".png", "picture", "8-bit PNG", PngSink, check_png),
        OutputFormat(
            "cog",
            ".tif",
            "raster",
            "Cloud-Optimized GeoTIFF: tiles, overviews, mask",
            _geotiff_sink(zlevel=1),  # its tiles are recompressed by the COG driver
            check_geotiff,
            finish_cog,
        ),
        OutputFormat(
            "gtiff",
            ".tif",
            "raster",
            "tiled GeoTIFF without overviews",
            _geotiff_sink(zlevel=6),
            check_geotiff,
        ),
    )
}
PICTURE_FORMAT = "png"
DEFAULT_RASTER_FORMAT = "cog"


def raster_formats() -> tuple[str, ...]:
    """The names ``--format`` takes: the table's raster rows."""
    return tuple(name for name, f in FORMATS.items() if f.inputs == "raster")


def raster_format(name: str) -> OutputFormat:
    """The raster output format `name` (``--format``); a UserError names the others."""
    names = raster_formats()
    if name not in names:
        raise UserError(f"unknown --format {name!r}: {' or '.join(names)}")
    return FORMATS[name]


def output_format(scene: bool, raster_name: str = DEFAULT_RASTER_FORMAT) -> OutputFormat:
    """The format of an output: the chosen raster format for a scene input, else PNG."""
    return raster_format(raster_name) if scene else FORMATS[PICTURE_FORMAT]


def format_help() -> str:
    """The ``--format`` help: the raster formats of the table."""
    rows = "; ".join(f"{name} ({FORMATS[name].help})" for name in raster_formats())
    return f"Raster outputs: {rows}."
