"""Small archives for the archive tests: a tiny model file and N small GeoTIFFs, and their
single-process outputs (today's `rscolor colorize` loop) to compare against."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from .helpers import read_geotiff, save_tiny_checkpoint, smooth_field, write_geotiff


def make_archive(root: Path, count: int = 12, size: int = 160) -> tuple[Path, Path]:
    """(folder of `count` GeoTIFFs s00.tif ..., tiny model file)."""
    folder = root / "in"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        data = (smooth_field(size, size + 8 * i, seed=i) * 250 + 3).astype(np.uint8)
        write_geotiff(folder / f"s{i:02d}.tif", data)
    return folder, save_tiny_checkpoint(root / "tiny.pt")


def reference_outputs(folder: Path, model: Path, out: Path) -> Path:
    """The scenes colorized by the plain in-process loop (no archive machinery)."""
    from rscolor.cli.colorize_cmd import colorize_files
    from rscolor.scene.pipeline import SceneOptions

    colorize_files([folder], out, model, False, "cpu", options=SceneOptions(progress=False),
                   threads=1)  # fmt: skip
    return out


def same_pixels(a: Path, b: Path) -> bool:
    (pa, _), (pb, _) = read_geotiff(a), read_geotiff(b)
    return pa.shape == pb.shape and bool((pa == pb).all())


def manifest_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The manifest's rows by input (read-only, as another program would)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        db.row_factory = sqlite3.Row
        return {r["input"]: dict(r) for r in db.execute("SELECT * FROM scenes")}
    finally:
        db.close()
