"""The run manifest: one SQLite row per scene (input, output, status, reason, attempts,
seconds, pixels, output checksum, writes), kept by the process that drives the run (the
workers never touch it), committed after every scene so a crash loses nothing.

Statuses: ``pending`` (planned), ``running`` (handed to a worker), ``done``, ``failed``.
A rerun skips ``done`` scenes whose output still verifies and runs the others again.
No credential is ever written here (sources are stored as given, with :func:`redact`).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from rscolor.archive.locations import redact
from rscolor.errors import UserError

MANIFEST_NAME = "rscolor-manifest.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS scenes (
    input TEXT PRIMARY KEY,
    output TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    pixels INTEGER,
    checksum TEXT,
    writes INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Row:
    input: str
    output: str
    status: str
    reason: str | None
    attempts: int
    seconds: float | None
    pixels: int | None
    checksum: str | None
    writes: int


class Manifest:
    """The manifest file of one output folder (or the --manifest path)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
        except sqlite3.Error as exc:
            raise UserError(f"cannot open the manifest {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def rows(self) -> dict[str, Row]:
        cur = self._db.execute(
            "SELECT input, output, status, reason, attempts, seconds, pixels, checksum, writes "
            "FROM scenes"
        )
        return {r[0]: Row(*r) for r in cur.fetchall()}

    def plan(self, source: str, output: str) -> None:
        """A scene of this run: added as pending, or its output name refreshed."""
        self._db.execute(
            "INSERT INTO scenes (input, output, status, updated) VALUES (?, ?, 'pending', ?) "
            "ON CONFLICT(input) DO UPDATE SET output = excluded.output",
            (redact(source), output, time.time()),
        )

    def start(self, source: str) -> None:
        self._db.execute(
            "UPDATE scenes SET status = 'running', attempts = attempts + 1, updated = ? "
            "WHERE input = ?",
            (time.time(), redact(source)),
        )

    def done(self, source: str, seconds: float, pixels: int, checksum: str, wrote: bool) -> None:
        self._db.execute(
            "UPDATE scenes SET status = 'done', reason = NULL, seconds = ?, pixels = ?, "
            "checksum = ?, writes = writes + ?, updated = ? WHERE input = ?",
            (seconds, pixels, checksum, int(wrote), time.time(), redact(source)),
        )

    def failed(self, source: str, reason: str, seconds: float | None = None) -> None:
        self._db.execute(
            "UPDATE scenes SET status = 'failed', reason = ?, seconds = ?, updated = ? "
            "WHERE input = ?",
            (redact(reason), seconds, time.time(), redact(source)),
        )
