"""Where an archive run's outputs go: a local folder, or an ``s3://`` prefix (through
GDAL's ``/vsis3/``, so the same environment variables as the inputs).

An output is made in a staging file first and only then published under its final name:
locally a hard link (which fails if the name exists, so a scene that a dead worker had
already finished is never written twice), on S3 one upload (an object appears whole or
not at all). Nothing partial ever has a final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rscolor.archive.locations import gdal_path, is_remote
from rscolor.errors import UserError
from rscolor.scene import raster

STAGING = ".rscolor-staging"  # beside the outputs: same file system, so a link publishes


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OutputTarget:
    """A local output folder or an ``s3://bucket/prefix``."""

    def __init__(self, out: str) -> None:
        self.out = out.rstrip("/") if is_remote(out) else out
        self.remote = is_remote(out)
        if self.remote and not out.startswith("s3://"):
            raise UserError(f"remote outputs go to an s3:// prefix, got {out}")

    def location(self, name: str) -> str:
        """The output as the user names it (a local path or an s3:// URL)."""
        return f"{self.out}/{name}" if self.remote else str(Path(self.out) / name)

    def _dataset(self, name: str) -> str:
        return gdal_path(self.location(name))

    def exists(self, name: str) -> bool:
        if not self.remote:
            return Path(self.location(name)).exists()
        from rasterio.shutil import exists

        with raster.gdal_env():
            try:
                return bool(exists(self._dataset(name)))
            except Exception as exc:  # GDAL's "not found" on S3 is an exception
                reason = _reason(exc)
                if "NotFound" in type(exc).__name__ or "404" in reason:
                    return False
                raise UserError(f"cannot check {self.location(name)}: {reason}") from None

    @contextlib.contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        """A fresh local folder for `name`'s files before they are published; removed after."""
        if self.remote:
            folder = Path(tempfile.mkdtemp(prefix="rscolor-"))
        else:
            root = Path(self.out) / STAGING
            root.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(dir=root))
        try:
            yield folder / Path(name).name
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, staged: Path, name: str, overwrite: bool) -> bool:
        """Give `staged` its final name; False (nothing written) when the name exists and
        `overwrite` is off."""
        if self.remote:
            return self._upload(staged, name, overwrite)
        final = Path(self.location(name))
        final.parent.mkdir(parents=True, exist_ok=True)
        if overwrite:
            os.replace(staged, final)
            return True
        try:
            os.link(staged, final)
        except FileExistsError:
            return False
        return True

    def _upload(self, staged: Path, name: str, overwrite: bool) -> bool:
        from rasterio.shutil import copyfiles

        if not overwrite and self.exists(name):
            return False
        with raster.gdal_env():
            try:
                copyfiles(str(staged), self._dataset(name))
            except Exception as exc:  # GDAL's errors are not all RasterioErrors
                raise UserError(f"cannot write {self.location(name)}: {_reason(exc)}") from None
        return True

    def verify(self, name: str, checksum: str | None) -> str | None:
        """Why a finished output no longer holds (None: it does). Local outputs are
        checksummed; an S3 output must still open (reading it back would cost a download)."""
        if not self.exists(name):
            return f"{self.location(name)} is gone"
        if self.remote or checksum is None:
            return None
        if sha256(Path(self.location(name))) != checksum:
            return f"{self.location(name)} changed since it was written (use --force to redo it)"
        return None

    def cleanup(self) -> None:
        """Remove what workers that died left in the staging folder (after a run)."""
        if not self.remote:
            shutil.rmtree(Path(self.out) / STAGING, ignore_errors=True)


def _reason(exc: BaseException) -> str:
    from rscolor.utils.io import error_reason

    return error_reason(exc)
