"""One output file: the scene pipeline run into the sink of an output format
(:mod:`.formats`), the format's finaliser, the file read back, then renamed to its final
name (a failed run leaves no output); and a raster colorized that way."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rscolor.scene import raster
from rscolor.scene.formats import DEFAULT_RASTER_FORMAT, OutputFormat, SinkSpec, raster_format
from rscolor.scene.pipeline import Predictor, SceneOptions, ScenePipeline, SceneReport
from rscolor.scene.sources import Sink
from rscolor.utils.io import atomic_path

R = TypeVar("R")


@dataclass
class RasterOptions:
    """How to read the input raster (band and stretch, see :mod:`.raster`), and the
    output's format: a raster row of :data:`rscolor.scene.formats.FORMATS` (``cog``, a
    Cloud-Optimized GeoTIFF, or ``gtiff``, tiled without overviews)."""

    band: int | None = None
    stretch: str = "auto"
    percentiles: tuple[float, float] = (2.0, 98.0)
    value_range: tuple[float, float] | None = None
    output_format: str = DEFAULT_RASTER_FORMAT

    def __post_init__(self) -> None:  # checked before any model is loaded
        raster_format(self.output_format)


def write_output(
    fmt: OutputFormat,
    dst: str | Path,
    spec: SinkSpec,
    run: Callable[[Sink], R],
    threads: int | None = None,
    force: bool = True,
) -> tuple[R, float]:
    """`run(sink)` into `fmt`'s sink at a temporary path beside `dst`, then the format's
    finaliser, the read-back check and the rename. Returns (what `run` returned, seconds
    the finaliser took)."""

    def verify(tmp: Path) -> None:
        fmt.verify(tmp, spec.width, spec.height)

    finish_seconds = 0.0
    with atomic_path(dst, force=force, verify=verify) as tmp:
        staged = fmt.staging(tmp)
        try:
            sink = fmt.open_sink(staged, spec)
            try:
                result = run(sink)
            finally:
                sink.close()
            if fmt.finish is not None:
                start = time.perf_counter()
                fmt.finish(staged, tmp, spec, threads, dst)
                finish_seconds = time.perf_counter() - start
        finally:
            if staged != tmp:
                staged.unlink(missing_ok=True)
    return result, finish_seconds


def colorize_raster(
    predictor: Predictor,
    src: str | Path,
    dst: str | Path,
    options: SceneOptions | None = None,
    raster_options: RasterOptions | None = None,
    force: bool = False,
    threads: int | None = None,
) -> SceneReport:
    """Colorize one band of a raster into an RGB GeoTIFF of the chosen format with the
    input's CRS, transform and nodata, and a mask band where the input has invalid pixels.

    Both steps of a COG run in bounded memory: the pipeline writes a tiled GeoTIFF in
    windows (a temporary file beside `dst`), which GDAL's COG driver then copies with
    overviews (:func:`raster.write_cog`)."""
    options = options or SceneOptions()
    ropts = raster_options or RasterOptions()
    fmt = raster_format(ropts.output_format)
    with (
        raster.gdal_env(threads),
        raster.RasterSource(
            src,
            ropts.band,
            ropts.stretch,  # type: ignore[arg-type]
            ropts.percentiles,
            ropts.value_range,
        ) as source,
    ):
        pipeline = ScenePipeline(predictor, source, options, source.pixel_size)
        spec = SinkSpec(
            source.width,
            source.height,
            source.georeference(),
            raster.output_nodata(source.nodata),
            mask=source.may_have_invalid,
        )
        report, finish_seconds = write_output(fmt, dst, spec, pipeline.run, threads, force)
    report.output_format = fmt.name
    report.finish_seconds = finish_seconds
    return report
