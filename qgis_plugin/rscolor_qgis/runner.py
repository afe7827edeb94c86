"""Running the rscolor command line tool: no QGIS imports, so it is tested on its own.

The plugin never imports rscolor (torch and GDAL would clash with QGIS's own libraries in
its process); it runs the ``rscolor`` executable of the environment the user names and
reads tqdm's progress ("tiles:  45%|...") from its output.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENV_VARIABLE = "RSCOLOR_EXECUTABLE"
PROGRESS = re.compile(r"tiles:\s*(\d{1,3})%")
TILES_SHARE = 95.0  # the tiles run takes this share of the progress bar; the COG copy the rest


class RscolorError(Exception):
    """rscolor could not be found or the run failed; the message is for the user."""


def resolve_executable(choice: str | None = None, setting: str | None = None) -> Path:
    """The rscolor executable from, in order: the algorithm's parameter, the plugin
    setting, $RSCOLOR_EXECUTABLE, the PATH. Each may name the executable itself or an
    environment folder (a venv or conda env) that holds it in bin/ or Scripts/."""
    for value in (choice, setting, os.environ.get(ENV_VARIABLE)):
        if value and value.strip():
            return _executable_in(Path(value.strip()).expanduser())
    found = shutil.which("rscolor")
    if found is None:
        raise RscolorError(
            "rscolor not found: set its environment in Settings > Options > Processing > "
            "Providers > rscolor (or the algorithm's 'rscolor executable' parameter)"
        )
    return Path(found)


def _executable_in(path: Path) -> Path:
    if path.is_file():
        return path
    if path.is_dir():
        for candidate in ("bin/rscolor", "Scripts/rscolor.exe", "rscolor", "rscolor.exe"):
            if (path / candidate).is_file():
                return path / candidate
        raise RscolorError(f"no rscolor executable in {path} (looked in bin/ and Scripts/)")
    raise RscolorError(f"rscolor executable not found: {path}")


def check_scale(value: str) -> str:
    """'auto' or a positive number, passed to ``--scale`` as written."""
    text = (value or "auto").strip().lower()
    if text == "auto":
        return text
    try:
        number = float(text)
    except ValueError:
        raise RscolorError(f"working scale must be 'auto' or a number, got {value!r}") from None
    if not number > 0:
        raise RscolorError(f"working scale must be positive, got {value!r}")
    return text


@dataclass
class Job:
    """One colorize run: the input file and what the algorithm's parameters asked for."""

    source: Path
    band: int = 1
    scale: str = "auto"
    saturation: float | None = None
    model: str | None = None
    output_format: str = "cog"

    def arguments(self, out_dir: Path) -> list[str]:
        """``rscolor colorize`` arguments writing into `out_dir`."""
        args = ["colorize", str(self.source), "--out-dir", str(out_dir), "--force"]
        args += ["--band", str(self.band), "--scale", check_scale(self.scale)]
        args += ["--format", self.output_format]
        if self.saturation is not None:
            args += ["--saturation", f"{self.saturation:g}"]
        if self.model:
            args += ["--checkpoint", self.model]
        return args


def progress_values(text: str) -> list[float]:
    """Progress percentages (of the whole job) in a piece of rscolor's output."""
    return [TILES_SHARE * min(int(p), 100) / 100 for p in PROGRESS.findall(text)]


def _pump(stream, lines: queue.Queue) -> None:
    """Split the output on newlines and on tqdm's carriage returns."""
    pending = ""
    for chunk in iter(lambda: stream.read(256), ""):
        pending += chunk
        *done, pending = re.split(r"[\r\n]", pending)
        for line in done:
            lines.put(line)
    if pending:
        lines.put(pending)
    lines.put(None)


def _follow(
    proc: subprocess.Popen,
    on_progress: Callable[[float], None],
    on_line: Callable[[str], None],
    is_canceled: Callable[[], bool],
) -> list[str]:
    """Report the running process's progress and lines until it ends; its last lines."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    tail: list[str] = []
    while True:
        if is_canceled():
            proc.terminate()
            proc.wait()
            raise RscolorError("canceled")
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            proc.wait()
            return tail
        values = progress_values(line)
        if values:
            on_progress(values[-1])
        elif line.strip():
            on_line(line.strip())
            tail = (tail + [line.strip()])[-5:]


def run(
    executable: Path,
    job: Job,
    destination: Path,
    on_progress: Callable[[float], None] = lambda p: None,
    on_line: Callable[[str], None] = lambda s: None,
    is_canceled: Callable[[], bool] = lambda: False,
) -> Path:
    """Run rscolor on `job`, reporting progress (0-100) and its output lines, and move the
    result to `destination` (a temporary folder beside it, so the move is a rename)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".rscolor-", dir=destination.parent) as tmp:
        command = [str(executable), *job.arguments(Path(tmp))]
        on_line("running: " + " ".join(command))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                encoding="utf-8", errors="replace", env=env,
            )  # fmt: skip
        except OSError as exc:
            raise RscolorError(f"cannot run {executable}: {exc.strerror or exc}") from None
        with proc:
            tail = _follow(proc, on_progress, on_line, is_canceled)
        if proc.returncode != 0:
            reason = ([t for t in tail if "error" in t.lower()] or tail or [""])[-1]
            raise RscolorError(f"rscolor failed (exit {proc.returncode}): {reason}")
        produced = Path(tmp) / (job.source.stem + ".tif")
        if not produced.is_file():
            raise RscolorError(f"rscolor wrote no {produced.name}; its output: {' | '.join(tail)}")
        os.replace(produced, destination)
    on_progress(100.0)
    return destination
