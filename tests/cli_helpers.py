"""Run the installed ``rscolor`` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def rscolor_command() -> list[str]:
    """The console script beside this interpreter (or on PATH), else ``python -m rscolor``."""
    beside = Path(sys.executable).parent / "rscolor"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("rscolor")
    return [found] if found else [sys.executable, "-m", "rscolor"]


def run_rscolor(
    *args: object,
    cwd: Path | None = None,
    timeout: float = 600,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``rscolor ARGS``; this checkout's sources come first on the path."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [*rscolor_command(), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    """Exit 2, a single ``rscolor: error:`` line on stderr containing `needle`, no traceback."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rscolor: error:") and needle in lines[0], lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
