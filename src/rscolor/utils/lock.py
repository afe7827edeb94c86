"""One writer per output folder: an advisory lock (``fcntl.flock``) on a hidden file.

``colorize -o DIR`` and ``train --out RUN`` take it before they check what exists and
hold it until they end, so the "never overwrite without --force" rule and the run-folder
guard are not check-then-act: a second process writing to the same place stops at once
with one line naming the holder (its command and process id). The kernel releases the
lock when its holder exits, however it exits (SIGKILL included); the lock file is removed
on a normal exit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rscolor.errors import UserError

LOCK_NAME = ".rscolor.lock"


def _holder(path: Path) -> str:
    """What the lock file says about its holder (written by `_claim`)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0][:200] if text else "another rscolor process"


def _claim(fd: int, what: str) -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    line = f"rscolor {what} (pid {os.getpid()}, since {started})\n"
    os.ftruncate(fd, 0)
    os.write(fd, line.encode("utf-8", errors="replace"))


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file `fd` locked (a holder that just finished
    removes it; a lock on the removed file would protect nothing)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _acquire(path: Path, folder: Path, what: str) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"cannot write to {folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"{folder} is in use by {_holder(path)}: wait for it to end, or choose "
                "another folder"
            ) from None
        if _same_file(fd, path):
            _claim(fd, what)
            return fd
        os.close(fd)


@contextlib.contextmanager
def folder_lock(lock_file: str | Path, what: str | None = None) -> Iterator[None]:
    """Hold the advisory lock `lock_file` (its folder is made); a UserError naming the
    holder when another process holds it. `what` describes this process for the next one
    (default: its command line)."""
    path = Path(lock_file)
    folder = path.parent
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    what = what or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:150]
    fd = _acquire(path, folder, what)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
        if created:  # a run that wrote nothing leaves no empty folder
            with contextlib.suppress(OSError):
                folder.rmdir()


def output_lock(folder: str | Path, what: str | None = None) -> contextlib.AbstractContextManager:
    """The lock of an output folder: FOLDER/.rscolor.lock."""
    return folder_lock(Path(folder) / LOCK_NAME, what)


def run_lock(run_dir: str | Path, what: str | None = None) -> contextlib.AbstractContextManager:
    """The lock of a training run folder, beside it (RUNS/.NAME.rscolor.lock): a run that
    fails before its first checkpoint removes the folder it made, lock and all."""
    run_dir = Path(run_dir)
    return folder_lock(run_dir.parent / f".{run_dir.name}{LOCK_NAME}", what)
