"""Every write is checked: a write that fails exits non-zero with one error line and leaves
nothing under the final name (PNG and GeoTIFF); the temporary file is read back before the
rename; SIGTERM removes temporary files as Ctrl-C does."""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rscolor.errors import UserError

from .helpers import rscolor_command, run_rscolor

rasterio = pytest.importorskip("rasterio")

FILE_LIMIT = 20_000  # bytes: the outputs below are several times larger


def _small_file_limit() -> None:
    """In the child: writes past FILE_LIMIT fail with EFBIG (SIGXFSZ ignored, not fatal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def noisy_picture(path: Path, size: int = 192) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(path)
    return path


def noisy_raster(path: Path, size: int = 192) -> Path:
    rng = np.random.default_rng(0)
    data = (rng.random((size, size)) * 60000).astype(np.uint16)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint16"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


@pytest.mark.parametrize("kind", ["png", "geotiff"])
def test_a_failed_write_exits_nonzero_and_leaves_no_file(tmp_path: Path, kind: str) -> None:
    src = noisy_picture(tmp_path / "in.png") if kind == "png" else noisy_raster(tmp_path / "in.tif")
    out = tmp_path / "out"
    out.mkdir()
    proc = run_rscolor("colorize", src, "-o", out, "--quiet", preexec_fn=_small_file_limit)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("rscolor: error: cannot write") and str(out) in last, proc.stderr
    assert list(out.iterdir()) == []  # neither the final name nor a temporary file
    assert "wrote" not in proc.stdout


def test_the_written_geotiff_is_read_back_before_the_rename(tmp_path, monkeypatch) -> None:
    """A writer that reports no error but leaves a truncated file (GDAL on a full disk)."""
    from rscolor.inference.colorizer import load_colorizer
    from rscolor.scene import raster
    from rscolor.scene.output import colorize_raster
    from rscolor.scene.pipeline import SceneOptions

    close = raster.GeoTiffSink.close

    def close_and_truncate(self) -> None:
        close(self)
        name = self._dst.name
        Path(name).write_bytes(Path(name).read_bytes()[:2000])

    monkeypatch.setattr(raster.GeoTiffSink, "close", close_and_truncate)
    src = noisy_raster(tmp_path / "in.tif", 96)
    dst = tmp_path / "out" / "in.tif"
    with pytest.raises(UserError, match="does not read back"):
        colorize_raster(load_colorizer(), src, dst, SceneOptions(progress=False))
    assert list(dst.parent.iterdir()) == []


def test_check_png_refuses_a_truncated_file(tmp_path: Path) -> None:
    from rscolor.data.images import check_png

    path = noisy_picture(tmp_path / "a.png", 64)
    check_png(path, 64, 64)
    with pytest.raises(UserError, match="expected 32x64"):
        check_png(path, 32, 64)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(UserError, match="does not read back"):
        check_png(path, 64, 64)


def test_sigterm_removes_the_temporary_geotiff(tmp_path: Path) -> None:
    src = noisy_raster(tmp_path / "in.tif", 1536)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*rscolor_command(), "colorize", str(src), "-o", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env(),
    )
    try:
        deadline = time.monotonic() + 90
        while not (out.is_dir() and any(p.name != ".rscolor.lock" for p in out.iterdir())):
            assert proc.poll() is None and time.monotonic() < deadline, "no temporary file"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "terminated" in err
    assert not out.exists() or list(out.iterdir()) == []  # the folder it made is removed too


def run_env() -> dict[str, str]:
    import os

    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
