"""`rscolor colorize`: files or folders in; colour PNGs (pictures) or RGB GeoTIFFs (rasters)
out, relative paths kept."""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm

from rscolor.errors import UserError
from rscolor.inference.batch import colorize_file, plan_outputs
from rscolor.inference.onnx_backend import load_backend
from rscolor.inference.scene import RasterOptions, SceneOptions, SceneReport


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
    cog = f" + COG {report.cog_seconds:.1f} s" if report.output_format == "cog" else ""
    return (
        f"{dst}: {report.width}x{report.height} px, working scale {report.scale:g} "
        f"({report.scale_source}), {report.tiles} tile(s) of {report.tile} px "
        f"(overlap {report.overlap}), {report.seconds:.1f} s{cog}"
    )


def run_colorize(
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
) -> None:
    options = options or SceneOptions()
    raster_options = raster_options or RasterOptions()
    if threads is not None:
        if threads < 1:
            raise UserError("--threads must be at least 1")
        torch.set_num_threads(threads)
    jobs = plan_outputs(inputs, out_dir, force, raster_options.band)
    if not jobs:
        raise UserError("no images found in the given inputs")
    colorizer = load_backend(checkpoint, backend, device, threads)
    colorizer.set_saturation(saturation)
    for src, dst in tqdm(jobs, desc="colorize", disable=len(jobs) < 2):
        report = colorize_file(colorizer, src, dst, options, raster_options, threads)
        if report is not None:
            tqdm.write(describe(dst, report))
    print(f"wrote {len(jobs)} image(s) to {out_dir}")
