"""Throughput of an archive run: today's single process against the archive runner in
process and on a local Dask cluster of 1 and 2 workers, and Dask's overhead per task.

    python benchmarks/archive_throughput.py --scenes 8 --size 512 --tiny 120 --json archive.json

builds SCENES georeferenced 8-bit GeoTIFFs of SIZE x SIZE px from the committed AID samples
(luminance, cycled; PIXEL m pixels, so --scale auto is the shipped model's 2 m over
PIXEL), then colorizes them with the shipped model (or --checkpoint), each
way in a fresh `rscolor colorize` process (with --threads N, each process): wall time
(process start to exit: imports, model loads, the cluster's start) and the run's own time
(the summary line: first scene handed out to last result). The overhead per task is
measured twice on a local cluster of one worker: TINY no-op tasks (Dask alone), and TINY
32 px scenes through the archive runner against the same scenes in process (the run's
time outside the scenes' own, per scene).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"(\d+) done, (\d+) failed, (\d+) skipped \(already done\) in ([\d.]+) s")


def sample_gray() -> list[np.ndarray]:
    from PIL import Image

    paths = sorted((REPO / "samples").glob("aid_*.jpg"))
    return [np.asarray(Image.open(p).convert("L")) for p in paths]


def write_scenes(folder: Path, count: int, size: int, pixel: float = 0.5) -> None:
    """`count` SIZE^2 GeoTIFFs, each a mosaic of the samples from a different start."""
    import rasterio
    from rasterio.transform import from_origin

    tiles = sample_gray()
    folder.mkdir(parents=True, exist_ok=True)
    side = tiles[0].shape[0]
    per_row = -(-size // side)
    for i in range(count):
        rows = [
            np.concatenate([tiles[(i + r * per_row + c) % len(tiles)] for c in range(per_row)], 1)
            for r in range(per_row)
        ]
        data = np.concatenate(rows, 0)[:size, :size]
        profile = {
            "driver": "GTiff",
            "width": size,
            "height": size,
            "count": 1,
            "dtype": "uint8",
            "crs": "EPSG:32633",
            "transform": from_origin(500000 + i * size, 5000000, pixel, pixel),
        }
        with rasterio.open(folder / f"scene{i:03d}.tif", "w", **profile) as dst:
            dst.write(data, 1)


THREADS: list[str] = []  # --threads N for every run (main sets it)


def colorize(inputs: Path, out: Path, extra: list[str], model: str | None) -> dict[str, Any]:
    """One `rscolor colorize` process: wall seconds and the summary's own seconds."""
    rscolor = Path(sys.executable).parent / "rscolor"
    cmd = [str(rscolor), "colorize", str(inputs), "-o", str(out), "--quiet", *THREADS, *extra]
    if model:
        cmd += ["--checkpoint", model]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    found = SUMMARY.search(proc.stdout)
    return {
        "wall_s": wall,
        "run_s": float(found.group(4)) if found else None,
        "log": proc.stderr.strip().splitlines()[-1:],
    }


def megapixels(folder: Path) -> float:
    import rasterio

    total = 0
    for path in folder.glob("*.tif"):
        with rasterio.open(path) as src:
            total += src.width * src.height
    return total / 1e6


def throughput(
    root: Path, scenes: int, size: int, pixel: float, model: str | None
) -> list[dict[str, Any]]:
    inputs = root / "scenes"
    write_scenes(inputs, scenes, size, pixel)
    mpx = megapixels(inputs)
    ways = {
        "single process (today)": [],
        "archive, in process": ["--manifest", str(root / "m-inproc.sqlite")],
        "archive, --workers 1": ["--workers", "1"],
        "archive, --workers 2": ["--workers", "2"],
    }
    rows = []
    for i, (name, extra) in enumerate(ways.items()):
        result = colorize(inputs, root / f"out{i}", extra, model)
        run_s = result["run_s"] or result["wall_s"]
        rows.append(
            {
                "way": name,
                "scenes": scenes,
                "mpx": mpx,
                **result,
                "mpx_per_s_wall": mpx / result["wall_s"],
                "mpx_per_s_run": mpx / run_s,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _noop(i: int) -> int:
    return i


def dask_overhead(tasks: int) -> dict[str, float]:
    """Seconds per no-op task on a 1-worker local cluster: all submitted at once, and one
    at a time (a round trip each)."""
    import logging

    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.submit(_noop, -1, pure=False).result()
        start = time.perf_counter()
        client.gather([client.submit(_noop, i, pure=False) for i in range(tasks)])
        batch = (time.perf_counter() - start) / tasks
        start = time.perf_counter()
        for i in range(tasks // 4):
            client.submit(_noop, i, pure=False).result()
        serial = (time.perf_counter() - start) / (tasks // 4)
    return {"tasks": tasks, "batched_s_per_task": batch, "round_trip_s_per_task": serial}


def task_seconds(manifest: Path) -> float:
    """The scenes' own seconds on their workers (the manifest's), summed."""
    import sqlite3

    with sqlite3.connect(manifest) as db:
        return float(db.execute("SELECT SUM(seconds) FROM scenes").fetchone()[0])


def tiny_scene_overhead(root: Path, tiny: int, model: str | None) -> dict[str, float]:
    """Per scene, the run's time outside the scenes' own (handing out, results, manifest),
    in process and on a 1-worker cluster, where scenes run one after another."""
    inputs = root / "tiny"
    write_scenes(inputs, tiny, 32)
    out: dict[str, float] = {"scenes": tiny}
    ways = {"in_process": ["--manifest", str(root / "t.sqlite")], "workers_1": ["--workers", "1"]}
    for name, extra in ways.items():
        result = colorize(inputs, root / f"tiny-{name}", extra, model)
        manifest = Path(extra[1]) if name == "in_process" else root / f"tiny-{name}"
        if manifest.is_dir():
            manifest = manifest / "rscolor-manifest.sqlite"
        busy = task_seconds(manifest)
        out[f"{name}_run_s"] = result["run_s"]
        out[f"{name}_scene_s"] = busy / tiny
        out[f"{name}_overhead_s_per_scene"] = (result["run_s"] - busy) / tiny
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--tiny", type=int, default=120)
    parser.add_argument(
        "--pixel", type=float, default=0.5, help="pixel size in metres (the shipped model: 2 m)"
    )
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads per process (default: rscolor's)"
    )
    args = parser.parse_args()
    if args.threads:
        THREADS[:] = ["--threads", str(args.threads)]
    with tempfile.TemporaryDirectory(prefix="rscolor-archive-bench-") as tmp:
        root = Path(tmp)
        report = {
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "pixel_m": args.pixel,
            "throughput": throughput(root, args.scenes, args.size, args.pixel, args.checkpoint),
            "dask_noop": dask_overhead(args.tiny * 4),
            "tiny_scenes": tiny_scene_overhead(root, args.tiny, args.checkpoint),
        }
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
