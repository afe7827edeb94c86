"""Finding and decoding scene images (JPEG, PNG, TIFF) with Pillow."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from rscolor.color import rgb_luminance_gray
from rscolor.errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
# Pictures are decoded whole: 8192 x 8192 px at most. Larger images take the windowed
# raster path (a tiled GeoTIFF); Pillow's own bomb check is far higher. `colorize` holds
# about PICTURE_BYTES_PER_PIXEL a pixel (the uint8 RGB, its float32 gray, the mask and the
# uint8 output; Lab in strips): measured peak RSS 0.60 GB at 16.8 Mpx and 1.21 GB at
# the limit, with the shipped model (docs/reliability.md).
MAX_PICTURE_PIXELS = 8192 * 8192
PICTURE_BYTES_PER_PIXEL = 12


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def find_images(root: str | Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Path]:
    """All image files under `root` (by suffix), sorted, recursively, each folder once."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"data folder not found: {root}")
    if not root.is_dir():
        raise UserError(f"not a folder: {root}")
    found = []
    for folder, names in walk_once(root):
        found += [folder / n for n in names if _wanted(Path(n), suffixes)]
    return sorted(p for p in found if p.is_file())


def _wanted(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.suffix.lower() in suffixes and not path.name.startswith(".")


def walk_once(root: Path) -> Iterator[tuple[Path, list[str]]]:
    """(folder, file names) under `root`, following symbolic links to folders (a class
    folder may be one: a combined tree of several data sets, scripts/combine_datasets.py)
    but entering each real folder once: a link back up (`up -> ..`) or to itself is a
    loop, and a second link to one folder would list its images twice."""
    seen: set[tuple[int, int]] = set()
    for folder, dirs, names in os.walk(root, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            dirs[:] = []
            continue
        seen.add(key)
        dirs.sort()
        yield Path(folder), names


def check_picture_size(path: Path, img: Image.Image) -> None:
    """Refuse, from the header alone, a picture too large to decode whole (a header can claim
    100000 x 100000 px with no data behind it)."""
    width, height = img.size
    if width * height > MAX_PICTURE_PIXELS:
        raise UserError(
            f"{path} is {width}x{height} px, over the {MAX_PICTURE_PIXELS / 1e6:.0f} Mpx limit "
            "for pictures read whole: convert it to a tiled GeoTIFF (e.g. gdal_translate -co "
            "TILED=YES) to colorize it in windows"
        )


def open_picture(path: Path) -> Image.Image:
    """Image.open with the pixel limit; decoding errors are UserErrors."""
    try:
        with warnings.catch_warnings():  # the size check below says it in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError:
        raise UserError(f"{path}: the header claims an image too large to decode") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"cannot read image {path}: {exc.__class__.__name__}") from None
    try:
        check_picture_size(path, img)
    except UserError:
        img.close()
        raise
    return img


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image as float32 in [0, 1]: HxW (gray) or HxWx3 (colour), turned upright
    by its EXIF orientation (phone JPEGs are stored sideways with a rotation tag)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    with open_picture(path) as img:
        try:
            img.load()
            upright = ImageOps.exif_transpose(img)
            return _to_float(upright)
        except (OSError, SyntaxError, ValueError) as exc:
            raise UserError(f"cannot read image {path}: {exc.__class__.__name__}") from None


def read_gray(path: str | Path, strip_pixels: int = 2**20) -> np.ndarray:
    """Decode an 8-bit picture as gray float32 HxW in [0, 1] (upright), a colour one reduced
    to the gray with its CIE lightness in strips of `strip_pixels`: a 64 Mpx picture never exists as
    float RGB (768 MB) or float64 Lab (1.5 GB and more). Other modes go through
    `read_image`."""
    path = Path(path)
    with open_picture(path) as img:
        if img.mode not in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr"):
            img.close()
            image = read_image(path)
            return image if image.ndim == 2 else rgb_luminance_gray(image)
        try:
            img.load()
            rgb = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
        except (OSError, SyntaxError, ValueError) as exc:
            raise UserError(f"cannot read image {path}: {exc.__class__.__name__}") from None
    gray = np.empty(rgb.shape[:2], np.float32)
    rows = max(1, strip_pixels // rgb.shape[1])
    for row in range(0, rgb.shape[0], rows):
        gray[row : row + rows] = rgb_luminance_gray(rgb[row : row + rows] / np.float32(255))
    return gray


def _to_float(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        return np.clip(arr / 65535.0, 0, 1)
    if img.mode == "F":
        return np.clip(np.asarray(img, dtype=np.float32), 0, 1)
    if img.mode in ("L", "1"):
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    if img.mode == "LA":
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image as RGB float32 HxWx3 in [0, 1] (gray images are repeated)."""
    arr = read_image(path)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, -1)
    return arr


def check_png(path: str | Path, width: int, height: int) -> None:
    """Decode a written PNG in full: a truncated or wrong-sized file is a UserError
    (worded to follow "the written file")."""
    try:
        with Image.open(path) as img:
            img.load()
            size = img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"does not read back ({exc})") from None
    if size != (width, height):
        raise UserError(f"is {size[0]}x{size[1]} px, expected {width}x{height}")


def read_alpha(path: str | Path) -> np.ndarray | None:
    """A picture's alpha (HxW uint8, upright as `read_image`), None if it has none: an
    output keeps its transparent areas transparent."""
    path = Path(path)
    with open_picture(path) as img:
        if img.mode not in ("LA", "RGBA", "PA") and "transparency" not in img.info:
            return None
        try:
            img.load()
            return np.asarray(ImageOps.exif_transpose(img).convert("RGBA").getchannel("A"))
        except (OSError, SyntaxError, ValueError) as exc:
            raise UserError(f"cannot read image {path}: {exc.__class__.__name__}") from None


def write_png(path: str | Path, rgb: np.ndarray, alpha: np.ndarray | None = None) -> None:
    """Write RGB (uint8, or float in [0, 1]) as an 8-bit PNG, RGBA with `alpha` (callers
    handle atomicity)."""
    data = rgb if rgb.dtype == np.uint8 else np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
    if alpha is not None:
        data = np.dstack([data, alpha.astype(np.uint8)])
    Image.fromarray(data).save(path, format="PNG")


def median_side(root: str | Path, files: list[str]) -> int:
    """Median of min(height, width) over `files` (headers only): the typical scene size."""
    sides = []
    for rel in files:
        try:
            with Image.open(Path(root) / rel) as img:
                sides.append(min(img.size))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            continue  # an unreadable file is reported when the dataset loads it
    return int(np.median(sides)) if sides else 0
