"""Is `rscolor colorize` output byte-identical between two source trees? For refactors
that must not change behaviour (issue 24): run the same commands with each tree's code
(``PYTHONPATH=TREE/src``) and compare every output file byte for byte.

The commands: the samples/ folder with the shipped model (torch), with an ONNX export of
it (``rscolor export``), and with ``--backend onnx``; a 16-bit georeferenced mosaic of the
samples with a nodata corner as a COG, as a tiled GeoTIFF, as a COG with the ONNX export,
and at working scale 1 (many tiles). The ONNX export itself is not compared (it records
the version); its outputs are.

    python benchmarks/colorize_identity.py --before /path/to/main --after . --work /tmp/id
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
RUNS = {  # output folder: arguments after `rscolor colorize` ({model}: the ONNX export)
    "torch": ["{samples}"],
    "onnx": ["{samples}", "--checkpoint", "{model}"],
    "onnx_from_pt": ["{samples}", "--backend", "onnx"],
    "cog": ["{raster}"],
    "gtiff": ["{raster}", "--format", "gtiff"],
    "cog_onnx": ["{raster}", "--checkpoint", "{model}"],
    "cog_tiles": ["{raster}", "--scale", "1"],
}


def make_raster(samples: Path, path: Path) -> None:
    """A 600 x 900 uint16 GeoTIFF (UTM, 0.5 m pixels) of six samples, nodata 0 in a corner."""
    import rasterio
    from rasterio.transform import from_origin

    tiles = [
        np.asarray(Image.open(p).convert("L").resize((300, 300)))
        for p in sorted(samples.glob("aid_*.jpg"))[:6]
    ]
    mosaic = np.concatenate([np.concatenate(tiles[:3], 1), np.concatenate(tiles[3:], 1)], 0)
    data = mosaic.astype(np.uint16) * 40 + 100
    data[:20, :50] = 0
    profile = {
        "driver": "GTiff",
        "width": 900,
        "height": 600,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "transform": from_origin(500000, 5000000, 0.5, 0.5),
        "nodata": 0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def rscolor(tree: Path, *args: str, threads: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    command = [sys.executable, "-m", "rscolor", *args]
    if args[0] == "colorize":
        command += ["--quiet", "--threads", str(threads)]
    subprocess.run(command, env=env, check=True)


def outputs(tree: Path, out: Path, samples: Path, raster: Path, threads: int) -> None:
    """Every run of RUNS with `tree`'s code into `out`."""
    model = out / "model.onnx"
    rscolor(tree, "export", "-o", str(model), threads=threads)
    for name, args in RUNS.items():
        filled = [a.format(samples=samples, model=model, raster=raster) for a in args]
        rscolor(tree, "colorize", *filled, "-o", str(out / name), threads=threads)


def compare(before: Path, after: Path) -> list[str]:
    """Lines naming each output that differs or is missing (empty: identical)."""
    problems = []
    for name in RUNS:
        old = sorted(p.relative_to(before) for p in (before / name).rglob("*") if p.is_file())
        new = sorted(p.relative_to(after) for p in (after / name).rglob("*") if p.is_file())
        if old != new:
            problems.append(f"{name}: different files: {old} vs {new}")
        problems += [
            f"{p}: differs"
            for p in old
            if p in new and not filecmp.cmp(before / p, after / p, shallow=False)
        ]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout (reference)")
    parser.add_argument("--after", type=Path, default=ROOT, help="a checkout (changed)")
    parser.add_argument("--work", type=Path, required=True, help="an empty folder")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    samples = args.after / "samples"
    args.work.mkdir(parents=True, exist_ok=False)
    raster = args.work / "mosaic.tif"
    make_raster(samples, raster)
    for side, tree in (("before", args.before), ("after", args.after)):
        outputs(tree.resolve(), args.work / side, samples, raster, args.threads)
    problems = compare(args.work / "before", args.work / "after")
    count = sum(1 for p in (args.work / "after").rglob("*") if p.is_file()) - 1
    print("\n".join(problems) or f"identical: {count} outputs byte for byte")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
