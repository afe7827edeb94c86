"""Peak memory and time of a Cloud-Optimized GeoTIFF output for a very large scene.

    python benchmarks/cog_memory.py --size 20000 --runs none:1 torch:0.25 --json cog.json

builds a SIZE x SIZE single-band 8-bit GeoTIFF (EPSG:32633, 0.5 m pixels, a nodata collar
on its left 3%) tiled from the committed real AID samples (samples/aid_*.jpg, reduced to
their luminance, cycled and mirrored), written in strips. Each run (BACKEND:SCALE) then
colorizes it into a COG (the default ``--format cog``: the windowed pipeline writes a tiled
GeoTIFF, GDAL's COG driver copies it with overviews) in a fresh process, so the peak RSS
(VmHWM) is that run's own: it includes torch, GDAL, the pipeline and the COG copy.

BACKEND ``none`` replaces the network by zeros (everything else runs: reading, resampling,
blending, merging, the mask, both writes); at scale 1 it has the widest buffers, and the
network's own activations do not grow with the scene. ``torch`` / ``onnx`` run the shipped
model (or --checkpoint). Each output is checked with rio-cogeo's ``cog_validate`` and for
overviews, CRS, transform, nodata and mask.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from colorize_scene import no_model, peak_rss_mib, pick_model  # noqa: E402

PIXEL_M = 0.5
COLLAR = 0.03
STRIP = 1024  # rows of the input written at a time


def sample_tiles() -> list[np.ndarray]:
    """The AID samples as uint8 gray, each also mirrored."""
    from rscolor.color import rgb_luminance_gray
    from rscolor.data.images import read_rgb

    files = sorted((REPO / "samples").glob("aid_*.jpg"))
    grays = [(255 * rgb_luminance_gray(read_rgb(f))).round().astype(np.uint8) for f in files]
    return grays + [g[:, ::-1] for g in grays]


def build_scene(path: Path, size: int) -> Path:
    """A size x size mosaic of the samples, nodata 0 on the left COLLAR, in strips."""
    import rasterio
    from rasterio.windows import Window

    tiles = sample_tiles()
    side = tiles[0].shape[0]
    n = -(-size // side)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8",
        "crs": "EPSG:32633", "nodata": 0, "tiled": True, "blockxsize": 512, "blockysize": 512,
        "compress": "deflate", "BIGTIFF": "IF_SAFER",
        "transform": rasterio.Affine(PIXEL_M, 0, 500000.0, 0, -PIXEL_M, 4100000.0),
    }  # fmt: skip
    collar = int(COLLAR * size)
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, size, STRIP):
            rows = range(r0 // side, -(-min(size, r0 + STRIP) // side))
            band = np.block([[np.maximum(tiles[(r * 7 + c) % len(tiles)], 1) for c in range(n)]
                             for r in rows])  # fmt: skip
            strip = band[r0 - rows[0] * side :][: min(STRIP, size - r0), :size].copy()
            strip[:, :collar] = 0
            dst.write(strip[None], window=Window(0, r0, size, strip.shape[0]))
    return path


def child(spec: dict[str, Any]) -> None:
    """One colorize run in this fresh process; prints its report as JSON."""
    import torch

    from rscolor.inference.onnx_backend import load_backend
    from rscolor.scene.output import colorize_raster
    from rscolor.scene.pipeline import SceneOptions

    torch.set_num_threads(spec["threads"])
    backend = spec["backend"]
    predictor = load_backend(spec["model"], "torch" if backend == "none" else backend, "cpu",
                             spec["threads"])  # fmt: skip
    if backend == "none":
        no_model(predictor)
    options = SceneOptions(scale=spec["scale"], progress=False)
    report = colorize_raster(predictor, spec["scene"], spec["out"], options, force=True,
                             threads=spec["threads"])  # fmt: skip
    print(json.dumps({**report.to_dict(), "peak_rss_mib": peak_rss_mib()}))


def check_cog(scene: Path, out: Path) -> dict[str, Any]:
    """rio-cogeo's verdict and what the COG holds; asserts the georeference and mask."""
    import rasterio
    from rio_cogeo.cogeo import cog_validate

    valid, errors, warnings = cog_validate(str(out))
    with rasterio.open(scene) as a, rasterio.open(out) as b:
        assert (a.crs, a.transform, a.nodata) == (b.crs, b.transform, b.nodata), "georef lost"
        assert b.mask_flag_enums[0] == [rasterio.enums.MaskFlags.per_dataset], "no mask"
        collar = int(COLLAR * a.width)
        from rasterio.windows import Window

        corner = b.read_masks(1, window=Window(0, 0, collar + 64, 64))
        assert (corner[:, :collar] == 0).all() and (corner[:, collar:] == 255).all(), "mask"
        overviews = b.overviews(1)
    return {"cog_valid": valid, "cog_errors": errors, "cog_warnings": warnings,
            "overviews": overviews, "output_mib": out.stat().st_size / 2**20}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--runs", nargs="+", default=["none:1"], help="BACKEND:SCALE ...")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--workdir", default="/tmp/rscolor-bench-cog")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    model, model_note = pick_model(args.checkpoint, work)
    scene = work / f"pan{args.size}.tif"
    start = time.perf_counter()
    if not scene.is_file():
        build_scene(scene, args.size)
    print(f"scene {scene}: {time.perf_counter() - start:.0f} s", flush=True)
    rows = []
    for run in args.runs:
        backend, _, scale = run.partition(":")
        out = work / f"out{args.size}-{backend}.tif"
        spec = {"model": str(model), "backend": backend, "scale": float(scale or 1),
                "scene": str(scene), "out": str(out), "threads": args.threads}  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                              stdout=subprocess.PIPE, text=True, check=True)  # fmt: skip
        report = json.loads(done.stdout.strip().splitlines()[-1])
        row = {"size": args.size, "backend": backend, "scale": spec["scale"],
               "peak_rss_mib": report["peak_rss_mib"], "pipeline_s": report["seconds"],
               "cog_s": report["finish_seconds"], "process_s": time.perf_counter() - start,
               "tiles_run": report["tiles_run"], **check_cog(scene, out)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"model": model_note, "threads": args.threads, "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
