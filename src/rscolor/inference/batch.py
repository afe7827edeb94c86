"""Colorize image files: plan every output first (so nothing is half done when one output
already exists), then write each atomically."""

from __future__ import annotations

from pathlib import Path

from rscolor.color import rgb_luminance_gray
from rscolor.data.images import find_images, is_image_path, read_image, write_png
from rscolor.errors import UserError
from rscolor.inference.colorizer import Colorizer
from rscolor.utils.io import atomic_path


def plan_outputs(inputs: list[Path], out_dir: Path, force: bool) -> list[tuple[Path, Path]]:
    """(source, destination) pairs. A folder keeps its files' paths relative to it."""
    jobs: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            jobs += [(p, out_dir / p.relative_to(item).with_suffix(".png")) for p in find_images(item)]
        elif item.is_file():
            if not is_image_path(item):
                raise UserError(f"not an image file (jpg, png, tif): {item}")
            jobs.append((item, out_dir / (item.stem + ".png")))
        else:
            raise UserError(f"input not found: {item}")
    seen: dict[Path, Path] = {}
    for src, dst in jobs:
        if dst in seen:
            raise UserError(f"{seen[dst]} and {src} would both write {dst}")
        seen[dst] = src
        if dst.exists() and not force:
            raise UserError(f"{dst} exists (use --force to overwrite)")
    return jobs


def to_gray(image) -> object:
    """A colour image is reduced to the gray with its CIE lightness; gray stays as is."""
    return image if image.ndim == 2 else rgb_luminance_gray(image)


def colorize_file(colorizer: Colorizer, src: Path, dst: Path) -> None:
    rgb = colorizer.colorize(to_gray(read_image(src)))
    with atomic_path(dst) as tmp:
        write_png(tmp, rgb)
