"""One scene, on whichever process runs it (a Dask worker, or this one): colorize into a
staging file, checksum, publish under the final name. The model is loaded once per
process (:func:`process_colorizer`) and reused by every scene that process runs.

A task never raises for a bad scene: it returns a failed :class:`SceneResult` with a
one-line reason, so one scene cannot stop the batch; only a dead worker surfaces as an
exception (on the driver, as Dask's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from rscolor.archive.locations import gdal_path, is_remote, redact
from rscolor.archive.targets import OutputTarget, sha256
from rscolor.errors import UserError
from rscolor.inference.batch import colorize_file
from rscolor.inference.colorizer import Colorizer
from rscolor.inference.onnx_backend import load_backend
from rscolor.scene.output import RasterOptions, colorize_raster
from rscolor.scene.pipeline import SceneOptions, SceneReport
from rscolor.utils.io import error_reason


@dataclass(frozen=True)
class ModelSpec:
    """What a worker loads (a path every worker can read; default: the shipped model)."""

    checkpoint: str | None = None
    backend: str = "auto"
    device: str = "auto"
    threads: int | None = None  # torch threads per worker process
    saturation: float | None = None


@dataclass(frozen=True)
class TaskSettings:
    model: ModelSpec
    out: str  # the output folder or s3:// prefix
    overwrite: bool = False
    stac: bool = False  # a STAC Item (JSON) beside each output
    scene: SceneOptions = field(default_factory=lambda: SceneOptions(progress=False))
    raster: RasterOptions = field(default_factory=RasterOptions)


@dataclass(frozen=True)
class Job:
    source: str
    name: str
    item_id: str | None = None
    datetime: str | None = None


@dataclass(frozen=True)
class SceneResult:
    source: str
    ok: bool
    reason: str | None = None
    seconds: float = 0.0
    pixels: int = 0
    checksum: str | None = None
    wrote: bool = False


@lru_cache(maxsize=2)
def process_colorizer(spec: ModelSpec) -> Colorizer:
    """The model, loaded the first time this process needs it."""
    colorizer = load_backend(spec.checkpoint, spec.backend, spec.device, spec.threads)
    return colorizer.calibrated(saturation=spec.saturation)


def warm(spec: ModelSpec) -> None:
    """Load the model now, before any scene (run on every worker when a run starts; a
    worker that joins later loads it with its first scene)."""
    if spec.threads is not None:
        torch.set_num_threads(spec.threads)
    process_colorizer(spec)


def run_scene(job: Job, settings: TaskSettings) -> SceneResult:
    """Colorize `job` (the Dask task); failures come back as a result, not an exception."""
    start = time.perf_counter()
    try:
        return _run(job, settings, OutputTarget(settings.out), start)
    except UserError as exc:
        reason = str(exc)
    except Exception as exc:  # a bug or a library error: still one line for this scene
        reason = f"{type(exc).__name__}: {error_reason(exc)}"
    return SceneResult(job.source, False, redact(reason), time.perf_counter() - start)


def _run(job: Job, settings: TaskSettings, target: OutputTarget, start: float) -> SceneResult:
    if not settings.overwrite and target.exists(job.name):
        return _adopt(job, target, start)
    if settings.model.threads is not None:
        torch.set_num_threads(settings.model.threads)
    colorizer = process_colorizer(settings.model)
    with target.staging(job.name) as staged:
        pixels = _colorize(colorizer, job, staged, settings)
        checksum = sha256(staged)
        if settings.stac:
            from rscolor.archive.stac_items import write_item

            write_item(staged, job, colorizer.meta, target.location(job.name))
        wrote = target.publish(staged, job.name, settings.overwrite)
        if not wrote:
            return _adopt(job, target, start)
        if settings.stac:
            target.publish(
                staged.with_suffix(".json"), str(Path(job.name).with_suffix(".json")), True
            )
    return SceneResult(job.source, True, None, time.perf_counter() - start, pixels, checksum, True)


def _adopt(job: Job, target: OutputTarget, start: float) -> SceneResult:
    """An output found when the scene runs is its own: the runner hands out only scenes
    whose output was absent (or that a driver which died had handed out), so it was
    written by this scene on a worker that died before reporting. Kept, not written again."""
    location = target.location(job.name)
    from rscolor.scene import raster

    info = raster.describe(gdal_path(location))
    checksum = None if target.remote else sha256(Path(location))
    pixels = info.width * info.height
    return SceneResult(job.source, True, None, time.perf_counter() - start, pixels, checksum)


def _colorize(colorizer: Colorizer, job: Job, staged: Path, settings: TaskSettings) -> int:
    """Write `job`'s output to `staged`; the number of pixels colorized."""
    threads = settings.model.threads
    report: SceneReport | None
    if is_remote(job.source):
        report = colorize_raster(
            colorizer,
            gdal_path(job.source),
            staged,
            options=settings.scene,
            raster_options=settings.raster,
            threads=threads,
        )
    else:
        report = colorize_file(
            colorizer, Path(job.source), staged, settings.scene, settings.raster, threads
        )
    if report is not None:
        return report.width * report.height
    from PIL import Image

    with Image.open(staged) as img:
        return img.width * img.height
