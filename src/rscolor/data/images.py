"""Finding and decoding scene images (JPEG, PNG, TIFF) with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rscolor.errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def find_images(root: str | Path) -> list[Path]:
    """All image files under `root`, sorted, recursively."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"data folder not found: {root}")
    if not root.is_dir():
        raise UserError(f"not a folder: {root}")
    return sorted(p for p in root.rglob("*") if p.is_file() and is_image_path(p))


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image as float32 in [0, 1]: HxW (gray) or HxWx3 (colour)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            return _to_float(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"cannot read image {path}: {exc.__class__.__name__}") from None


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


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    """Write RGB [0, 1] as an 8-bit PNG (callers handle atomicity)."""
    data = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
    Image.fromarray(data).save(path, format="PNG")
