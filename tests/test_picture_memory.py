"""Issue 23, item 6: the memory a picture takes is measured and bounded. A colour picture
is reduced to gray in strips (never whole as float RGB or float64 Lab); the tiled path
writes its uint8 result as it is (peak RSS measured: docs/reliability.md)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image

from rscolor.color import rgb_luminance_gray
from rscolor.data.images import MAX_PICTURE_PIXELS, PICTURE_BYTES_PER_PIXEL, read_gray, read_rgb


def _peak_bytes(run) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_colour_picture_is_reduced_to_gray_in_bounded_memory(tmp_path: Path) -> None:
    side = 2048
    rng = np.random.default_rng(0)
    path = tmp_path / "rgb.png"
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(path)
    gray, peak = _peak_bytes(lambda: read_gray(path, strip_pixels=2**16))
    # the uint8 RGB (3), the float32 gray (4) and one strip's temporaries (at the default
    # strip of 1 Mpx, about 1.5 B/px of a 64 Mpx picture): not the 75 B/px of whole Lab
    assert peak / side**2 < 10, peak / side**2
    assert PICTURE_BYTES_PER_PIXEL * MAX_PICTURE_PIXELS < 2**30  # under 1 GiB at the limit
    reference = rgb_luminance_gray(read_rgb(path)[:64])
    np.testing.assert_allclose(gray[:64], reference, atol=1e-5)
