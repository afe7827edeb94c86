"""The study database (SQLite): methods, items (one colorization each), raters, ratings.

Every rating is committed as soon as it arrives, so a stopped server loses nothing. Image
files are only ever reached through an item row: URLs carry the item's random id, never
a path. Raters hold a random secret token (cookie or resume link); only its SHA-256 is
stored, so the database alone cannot be used to impersonate a rater.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from rscolor.errors import UserError

SCHEMA_VERSION = "1"
SCORE_MIN, SCORE_MAX = 1, 100

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS methods (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    root TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    method_id INTEGER NOT NULL REFERENCES methods(id),
    rel_path TEXT NOT NULL,
    color_path TEXT NOT NULL,
    gray_path TEXT,
    UNIQUE (method_id, rel_path)
);
CREATE TABLE IF NOT EXISTS raters (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    order_seed INTEGER NOT NULL,
    created TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS ratings (
    rater_id TEXT NOT NULL REFERENCES raters(id),
    item_id TEXT NOT NULL REFERENCES items(id),
    score INTEGER NOT NULL CHECK (score BETWEEN {SCORE_MIN} AND {SCORE_MAX}),
    updated TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (rater_id, item_id)
);
"""


@dataclass(frozen=True)
class MethodImages:
    """A method in the study: its name and the folder of its colorized images."""

    name: str
    root: Path


@dataclass(frozen=True)
class ItemSpec:
    """One colorization to rate; `gray_path` None means: derive the gray from it."""

    method: str
    rel_path: str
    color_path: Path
    gray_path: Path | None = None


@dataclass(frozen=True)
class Item:
    id: str
    method: str
    rel_path: str
    color_path: Path
    gray_path: Path | None


@dataclass(frozen=True)
class Rating:
    rater_id: str
    method: str
    item_id: str
    score: int


@contextmanager
def open_db(path: str | Path, create: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection with foreign keys on; commits on success, rolls back on error."""
    path = Path(path)
    if not create and not path.is_file():
        raise UserError(f"no study database at {path}")
    try:
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise UserError(f"cannot open study database {path}: {exc}") from None
    with closing(conn):
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        yield conn


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_study(conn: sqlite3.Connection) -> None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        raise UserError("not an rscolor study database (no schema_version)")
    if row["value"] != SCHEMA_VERSION:
        raise UserError(f"study database schema {row['value']} is not supported here")


def has_study(conn: sqlite3.Connection) -> bool:
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"not an SQLite database: {exc}") from None
    if row is None:
        return False
    _check_study(conn)
    return True


def create_study(
    conn: sqlite3.Connection,
    methods: list[MethodImages],
    items: list[ItemSpec],
    meta: dict[str, str],
) -> None:
    """Write a new study in one transaction (all or nothing)."""
    with _transaction(conn):
        _create_tables(conn)
        values = {**meta, "schema_version": SCHEMA_VERSION}
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", values.items())
        ids = {}
        for method in methods:
            cur = conn.execute(
                "INSERT INTO methods (name, root) VALUES (?, ?)", (method.name, str(method.root))
            )
            ids[method.name] = cur.lastrowid
        conn.executemany(
            "INSERT INTO items (id, method_id, rel_path, color_path, gray_path) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    secrets.token_urlsafe(9),
                    ids[it.method],
                    it.rel_path,
                    str(it.color_path),
                    None if it.gray_path is None else str(it.gray_path),
                )
                for it in items
            ],
        )


def _create_tables(conn: sqlite3.Connection) -> None:
    # executescript() would COMMIT the open transaction, so run the statements one by one.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    _check_study(conn)
    return {row["key"]: row["value"] for row in conn.execute("SELECT key, value FROM meta")}


def list_methods(conn: sqlite3.Connection) -> list[MethodImages]:
    rows = conn.execute("SELECT name, root FROM methods ORDER BY id").fetchall()
    return [MethodImages(row["name"], Path(row["root"])) for row in rows]


_ITEM_SELECT = (
    "SELECT items.id, methods.name AS method, rel_path, color_path, gray_path "
    "FROM items JOIN methods ON methods.id = items.method_id"
)


def _item(row: sqlite3.Row) -> Item:
    gray = row["gray_path"]
    return Item(
        row["id"],
        row["method"],
        row["rel_path"],
        Path(row["color_path"]),
        None if gray is None else Path(gray),
    )


def list_items(conn: sqlite3.Connection) -> list[Item]:
    return [_item(r) for r in conn.execute(_ITEM_SELECT + " ORDER BY items.method_id, rel_path")]


def get_item(conn: sqlite3.Connection, item_id: str) -> Item | None:
    row = conn.execute(_ITEM_SELECT + " WHERE items.id = ?", (item_id,)).fetchone()
    return None if row is None else _item(row)


def create_rater(conn: sqlite3.Connection, rater_id: str) -> str:
    """Register a rater; returns their secret token. Raises ValueError if the id is taken."""
    token = secrets.token_urlsafe(24)
    try:
        conn.execute(
            "INSERT INTO raters (id, token_sha256, order_seed) VALUES (?, ?, ?)",
            (rater_id, hash_token(token), secrets.randbits(31)),
        )
    except sqlite3.IntegrityError:
        raise ValueError(f"rater id {rater_id!r} is already in use") from None
    return token


def rater_for_token(conn: sqlite3.Connection, token: str | None) -> str | None:
    if not token:
        return None
    sql = "SELECT id FROM raters WHERE token_sha256 = ?"
    row = conn.execute(sql, (hash_token(token),)).fetchone()
    return None if row is None else row["id"]


def rater_order(conn: sqlite3.Connection, rater_id: str) -> list[str]:
    """All item ids in this rater's own random order (stable across restarts)."""
    seed = conn.execute("SELECT order_seed FROM raters WHERE id = ?", (rater_id,)).fetchone()[0]
    ids = [row[0] for row in conn.execute("SELECT id FROM items ORDER BY rowid")]
    random.Random(seed).shuffle(ids)
    return ids


def rater_scores(conn: sqlite3.Connection, rater_id: str) -> dict[str, int]:
    """item id -> score, for one rater only."""
    rows = conn.execute("SELECT item_id, score FROM ratings WHERE rater_id = ?", (rater_id,))
    return {row["item_id"]: row["score"] for row in rows}


def save_rating(conn: sqlite3.Connection, rater_id: str, item_id: str, score: int) -> None:
    """Insert or replace this rater's score for one item (callers validate first)."""
    conn.execute(
        "INSERT INTO ratings (rater_id, item_id, score) VALUES (?, ?, ?) "
        "ON CONFLICT (rater_id, item_id) DO UPDATE SET score = excluded.score, "
        "updated = datetime('now')",
        (rater_id, item_id, score),
    )


def all_ratings(conn: sqlite3.Connection) -> list[Rating]:
    rows = conn.execute(
        "SELECT ratings.rater_id, methods.name AS method, ratings.item_id, ratings.score "
        "FROM ratings JOIN items ON items.id = ratings.item_id "
        "JOIN methods ON methods.id = items.method_id ORDER BY ratings.rater_id, ratings.rowid"
    )
    return [Rating(r["rater_id"], r["method"], r["item_id"], r["score"]) for r in rows]
