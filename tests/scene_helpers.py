"""Helpers for the scene-colorization tests: tiny models and small GeoTIFFs made in the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rscolor.inference.colorizer import Colorizer
from rscolor.modelfile import inference_payload, save_checkpoint
from rscolor.models import build_generator

from .conftest import tiny_config

CRS = "EPSG:32633"


def tiny_colorizer(seed: int = 0, chroma_gain: float = 0.3, **overrides: Any) -> Colorizer:
    """A random-weight tiny model. Its output conv is scaled by `chroma_gain` so colours
    stay moderate (in gamut, where the merge keeps the input's lightness exactly)."""
    torch.manual_seed(seed)
    cfg = tiny_config(**overrides)
    gen = build_generator(cfg)
    last = [m for m in gen.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)][-1]
    with torch.no_grad():
        last.weight.mul_(chroma_gain)
        if last.bias is not None:
            last.bias.mul_(chroma_gain)
    meta = {"train_size": cfg.data.crop_size, "method": "tiny"}
    return Colorizer(gen, cfg, meta)


def save_tiny_checkpoint(path: Path, **overrides: Any) -> Path:
    col = tiny_colorizer(**overrides)
    save_checkpoint(path, inference_payload(col.generator, col.cfg, col.meta))
    return path


def smooth_field(height: int, width: int, seed: int = 0, cells: int = 6) -> np.ndarray:
    """A smooth random field in [0, 1] (bilinear upsampling of a coarse grid)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.uniform(0, 1, (1, 1, cells, cells)).astype(np.float32))
    up = nn.functional.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
    return up[0, 0].clamp(0, 1).numpy()


def write_geotiff(
    path: Path,
    data: np.ndarray,
    nodata: float | None = None,
    pixel: float = 2.0,
    crs: str | None = CRS,
) -> dict[str, Any]:
    """Write bands x H x W (or H x W) data as a GeoTIFF; returns its profile."""
    import rasterio

    bands = data[None] if data.ndim == 2 else data
    profile = {
        "driver": "GTiff",
        "width": bands.shape[2],
        "height": bands.shape[1],
        "count": bands.shape[0],
        "dtype": str(bands.dtype),
        "crs": crs,
        "transform": rasterio.Affine(pixel, 0.0, 500000.0, 0.0, -pixel, 4100000.0),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
    return profile


def read_geotiff(path: Path) -> tuple[np.ndarray, Any]:
    """(bands x H x W data, the open dataset's profile) of a written GeoTIFF."""
    import rasterio

    with rasterio.open(path) as src:
        return src.read(), src.profile


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def samples_mosaic(rows: int, cols: int) -> np.ndarray:
    """A uint8 gray mosaic of the committed real AID samples (150 px each), rows x cols
    of them, cycled, every other one mirrored so neighbours differ."""
    from rscolor.color import rgb_luminance_gray
    from rscolor.data.images import read_rgb

    files = sorted(SAMPLES.glob("aid_*.jpg"))
    grays = [(255 * rgb_luminance_gray(read_rgb(f))).round().astype(np.uint8) for f in files]
    tiles = [
        [grays[(r * cols + c) % len(grays)][:, :: 1 - 2 * ((r + c) % 2)] for c in range(cols)]
        for r in range(rows)
    ]
    return np.block(tiles)
