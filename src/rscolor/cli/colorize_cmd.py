"""`rscolor colorize`: files or folders in; colour PNGs (pictures) or RGB GeoTIFFs (rasters)
out, relative paths kept."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm

from rscolor.cli.options import ColorizeOptions
from rscolor.errors import UserError
from rscolor.inference.batch import colorize_file, plan_outputs
from rscolor.inference.colorizer import Colorizer
from rscolor.inference.onnx_backend import load_backend
from rscolor.scene.output import RasterOptions
from rscolor.scene.pipeline import SceneOptions, SceneReport
from rscolor.scene.scale import parse_scale
from rscolor.utils.device import check_threads
from rscolor.utils.lock import output_lock


def parse_pair(text: str | None, option: str) -> tuple[float, float] | None:
    """'LOW,HIGH' -> (low, high)."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise UserError(f"{option} takes LOW,HIGH (two numbers), got {text!r}") from None
    return low, high


def describe(dst: Path, report: SceneReport) -> str:
    finish = f" + {report.output_format.upper()} {report.finish_seconds:.1f} s"
    finish = finish if report.finish_seconds else ""
    return (
        f"{dst}: {report.width}x{report.height} px, working scale {report.scale:g} "
        f"({report.scale_source}), {report.tiles} tile(s) of {report.tile} px "
        f"(overlap {report.overlap}), {report.seconds:.1f} s{finish}"
    )


def run_colorize(opts: ColorizeOptions) -> None:
    """The command: its options as the library's, then `colorize_files`."""
    options = SceneOptions(
        scale=parse_scale(opts.scale),
        tile=opts.tile,
        overlap=opts.overlap,
        margin=opts.margin,
        batch=opts.batch,
        progress=not opts.quiet,
    )
    raster_options = RasterOptions(
        band=opts.band,
        stretch=opts.stretch,
        percentiles=parse_pair(opts.percentiles, "--percentiles"),  # type: ignore[arg-type]
        value_range=parse_pair(opts.value_range, "--value-range"),
        output_format=opts.output_format,
    )
    if opts.is_archive_run():
        from rscolor.cli.archive_cmd import run_archive

        return run_archive(opts, options, raster_options)
    colorize_files(
        [Path(i) for i in opts.inputs],
        Path(opts.out_dir),
        opts.checkpoint,
        opts.force,
        opts.device,
        opts.backend,
        options,
        raster_options,
        opts.threads,
        opts.saturation,
        opts.skip_existing,
    )


def colorize_files(
    inputs: list[Path],
    out_dir: Path,
    checkpoint: Path | None,
    force: bool,
    device: str,
    backend: str = "auto",
    options: SceneOptions | None = None,
    raster_options: RasterOptions | None = None,
    threads: int | None = None,
    saturation: float | None = None,
    skip_existing: bool = False,
) -> None:
    """Colorize every planned file. One bad file does not stop a folder run: the others
    are written, the failures listed, and the exit is non-zero (rerun with
    --skip-existing to do only what is missing)."""
    options = options or SceneOptions()
    raster_options = raster_options or RasterOptions()
    if threads is not None:
        check_threads(threads)
        torch.set_num_threads(threads)
    band, raster_format = raster_options.band, raster_options.output_format
    plan = partial(plan_outputs, inputs, out_dir, force, band, skip_existing, raster_format)
    if not plan():
        if skip_existing:
            print(f"nothing to do: every output exists in {out_dir}")
            return
        raise UserError("no images found in the given inputs")
    colorizer = load_backend(checkpoint, backend, device, threads).calibrated(saturation=saturation)
    with output_lock(out_dir, "colorize"):  # one writer per folder: planned again under it
        jobs = plan()
        if not jobs:
            print(f"nothing to do: every output exists in {out_dir}")
            return
        failed = _colorize_all(colorizer, jobs, options, raster_options, threads)
    print(f"wrote {len(jobs) - len(failed)} image(s) to {out_dir}")
    if failed:
        raise UserError(
            f"{len(failed)} of {len(jobs)} image(s) failed (listed above); fix them and "
            "rerun with --skip-existing to do only those"
        )


def _colorize_all(
    colorizer: Colorizer,
    jobs: list[tuple[Path, Path]],
    options: SceneOptions,
    raster_options: RasterOptions,
    threads: int | None,
) -> list[Path]:
    """Run the jobs; return the sources that failed (a single job's error is raised)."""
    failed: list[Path] = []
    bar = tqdm(jobs, desc="colorize", disable=len(jobs) < 2 or not options.progress)
    for src, dst in bar:
        try:
            report = colorize_file(colorizer, src, dst, options, raster_options, threads)
        except UserError as exc:
            if len(jobs) == 1:
                raise
            failed.append(src)
            tqdm.write(f"rscolor: failed: {exc}", file=sys.stderr)
            continue
        if report is not None:
            tqdm.write(describe(dst, report))
    return failed
