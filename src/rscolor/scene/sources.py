"""What the scene pipeline reads from and writes to: a :class:`Source` of gray windows and
a :class:`Sink` of RGB blocks, and their in-memory forms (ordinary image files). The raster
ones (GeoTIFF / any GDAL raster, in windows) are in :mod:`.raster`."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Source(Protocol):
    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...

    def read(self, row0: int, row1: int, col0: int, col1: int) -> tuple[np.ndarray, np.ndarray]:
        """The window rows [row0, row1) x columns [col0, col1) as (gray float32 in [0, 1],
        valid bool)."""
        ...


class Sink(Protocol):
    def write(self, row0: int, col0: int, rgb: np.ndarray, valid: np.ndarray) -> None: ...


class ArraySource:
    """An in-memory gray image (ordinary image files)."""

    def __init__(self, gray: np.ndarray, valid: np.ndarray | None = None) -> None:
        self.gray = gray.astype(np.float32, copy=False)
        self.valid = np.ones(gray.shape, bool) if valid is None else valid

    @property
    def height(self) -> int:
        return int(self.gray.shape[0])

    @property
    def width(self) -> int:
        return int(self.gray.shape[1])

    def read(self, row0: int, row1: int, col0: int, col1: int) -> tuple[np.ndarray, np.ndarray]:
        return self.gray[row0:row1, col0:col1], self.valid[row0:row1, col0:col1]


class ArraySink:
    def __init__(self, height: int, width: int) -> None:
        self.rgb = np.zeros((height, width, 3), np.uint8)

    def write(self, row0: int, col0: int, rgb: np.ndarray, valid: np.ndarray) -> None:
        self.rgb[row0 : row0 + rgb.shape[0], col0 : col0 + rgb.shape[1]] = rgb
