"""Pictures: a pixel limit checked from the header, EXIF orientation applied."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rscolor.data.images import read_image
from rscolor.errors import UserError

from .helpers import run_rscolor


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims `width` x `height` px (valid CRC, almost no data)."""
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then the IHDR length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("side", [12_000, 100_000])
def test_a_huge_picture_header_is_refused_quickly_in_one_line(tmp_path: Path, side: int) -> None:
    src = png_claiming(tmp_path / "bomb.png", side, side)
    started = time.monotonic()
    proc = run_rscolor("colorize", src, "-o", tmp_path / "out")
    assert time.monotonic() - started < 60
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("rscolor: error:") and "bomb.png" in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "bomb.png").exists()


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((2, 4), np.uint8)  # 2 rows x 4 columns, stored sideways
    pixels[0, 0] = 255
    img = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    img.save(tmp_path / "phone.jpg", exif=exif, quality=100)
    upright = read_image(tmp_path / "phone.jpg")
    assert upright.shape == (4, 2)
    assert upright[0, 1] > 0.5 and upright[0, 0] < 0.5  # the bright corner moved top right


def test_the_limit_applies_to_training_reads(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Mpx limit"):
        read_image(png_claiming(tmp_path / "big.png", 9000, 9000))
