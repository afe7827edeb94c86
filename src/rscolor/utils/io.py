"""Atomic file output: write to a temporary file beside the target, check it, then rename.

A run that fails or is killed (Ctrl-C, SIGTERM) never leaves a half-written output under
the final name, and no temporary file either. A write that fails (a full disk, a file size
limit) is one-line UserError; a `verify` callback reads the temporary file back before the
rename, for writers (GDAL) that report failures only on their log.

`check_output` is the one rule for whether an output path may be written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from rscolor.errors import UserError

Verify = Callable[[Path], None]
# Of an output's name in its temporary's: room for ".", ".XXXXXXXX.tmp.png", ".tiled.tif".
TEMP_NAME_BYTES = 200


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def resolved(paths: Iterable[str | Path]) -> frozenset[Path]:
    """Paths with symlinks and `..` resolved: what `check_output` protects."""
    return frozenset(Path(p).resolve() for p in paths)


def check_output(path: str | Path, force: bool, inputs: frozenset[Path] = frozenset()) -> None:
    """The one rule for writing an output: never over one of `inputs` (resolved paths, see
    `resolved`), even with --force; never over an existing file without `force`."""
    path = Path(path)
    if path.resolve() in inputs:
        raise UserError(f"{path} is an input: refusing to overwrite it (choose another output)")
    if path.exists() and not force:
        raise UserError(f"{path} exists (use --force to overwrite)")


def error_reason(exc: BaseException) -> str:
    """The first line of the innermost cause: GDAL's reason ends rasterio's chain."""
    cause = exc
    while cause.__cause__ or cause.__context__:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    lines = (getattr(cause, "strerror", None) or str(cause)).strip().splitlines()
    return lines[0] if lines else cause.__class__.__name__


def write_error(path: Path, exc: OSError) -> UserError:
    """One line for a failed write: the target and the system's reason (the error's own
    when it has one: Pillow's PNG writer chains a full disk to an internal AttributeError)."""
    reason = exc.strerror if exc.errno and exc.strerror else error_reason(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        reason += " (nothing was written under the final name)"
    return UserError(f"cannot write {path}: {reason}")


def _shortened(name: str, limit: int = TEMP_NAME_BYTES) -> str:
    """`name` cut to `limit` bytes for a temporary name beside it: a legal 250-byte name
    plus the temporary's prefix and suffixes would pass the 255-byte limit of a name."""
    return name.encode()[:limit].decode("utf-8", errors="ignore")


@contextlib.contextmanager
def atomic_path(
    path: str | Path, force: bool = True, verify: Verify | None = None
) -> Iterator[Path]:
    """Yield a temporary path; on success (and `verify(tmp)` passing) it is renamed to
    `path`; on any error or interrupt it is removed."""
    path = Path(path)
    check_output(path, force)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{_shortened(path.name)}.", suffix=".tmp" + path.suffix, dir=parent
        )
    except OSError as exc:
        raise UserError(f"cannot write to {parent}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        try:
            yield tmp
            if verify is not None:
                try:
                    verify(tmp)
                except UserError as exc:
                    raise UserError(f"cannot write {path}: the written file {exc}") from None
            os.replace(tmp, path)
        except OSError as exc:
            raise write_error(path, exc) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
