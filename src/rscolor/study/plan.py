"""Choosing what raters see: run folders -> methods, a seeded image set -> items.

The same relative paths are used for every method wherever the runs share them, so raters
score each method on the same scenes; a method short of shared images is topped up from
its own, also seeded. A study is created once; a later ``serve`` with the same options
continues it, with different options it refuses (ratings of one design are never mixed
with another's).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rscolor.data.images import find_images, read_image
from rscolor.errors import UserError
from rscolor.study import db
from rscolor.utils.io import atomic_path

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")


@dataclass(frozen=True)
class StudyOptions:
    runs: tuple[str, ...]
    images: int = 20
    seed: int = 0
    gray: Path | None = None


def parse_run(spec: str) -> db.MethodImages:
    """``DIR`` (method = folder name) or ``NAME=DIR``."""
    path = Path(spec)
    name, sep, rest = spec.partition("=")
    if sep and not path.exists() and NAME_RE.fullmatch(name):
        path = Path(rest)
    else:
        name = path.resolve().name
    if not path.is_dir():
        raise UserError(f"run folder not found: {path}")
    if not NAME_RE.fullmatch(name):
        raise UserError(f"method name {name!r} must be letters, digits, '_.+-' (use NAME=DIR)")
    return db.MethodImages(name, path.resolve())


def _relative_images(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in find_images(root)}


def _gray_index(gray_root: Path) -> dict[str, list[Path]]:
    """Gray images by relative path without suffix (colorize writes PNGs of any input)."""
    index: dict[str, list[Path]] = {}
    for rel, path in _relative_images(gray_root).items():
        index.setdefault(str(PurePosixPath(rel).with_suffix("")), []).append(path)
    return index


def choose_paths(available: dict[str, Sequence[str]], n: int, seed: int) -> dict[str, list[str]]:
    """`n` relative paths per method: shared ones first (one seeded draw for all), then
    each method's own (seeded by method name)."""
    for name, paths in available.items():
        if len(paths) < n:
            raise UserError(f"run {name!r} has {len(paths)} image(s); --images {n} needs {n}")
    common = sorted(set.intersection(*(set(p) for p in available.values())))
    shared = sorted(random.Random(seed).sample(common, min(n, len(common))))
    chosen = {}
    for name, paths in available.items():
        rest = sorted(set(paths) - set(shared))
        extra = random.Random(f"{seed}:{name}").sample(rest, n - len(shared))
        chosen[name] = sorted(shared + extra)
    return chosen


def plan_items(opts: StudyOptions) -> tuple[list[db.MethodImages], list[db.ItemSpec]]:
    if not opts.runs:
        raise UserError("give at least one run folder (--runs DIR ...)")
    if opts.images < 1:
        raise UserError("--images must be at least 1")
    methods = [parse_run(spec) for spec in opts.runs]
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise UserError(f"two runs have the same method name in {names}; name them NAME=DIR")
    files = {m.name: _relative_images(m.root) for m in methods}
    chosen = choose_paths({k: list(v) for k, v in files.items()}, opts.images, opts.seed)
    grays = None if opts.gray is None else _gray_index(_existing_dir(opts.gray, "--gray"))
    items = []
    for name, rels in chosen.items():
        for rel in rels:
            color = files[name][rel]
            read_image(color)  # fail now, not in front of a rater
            gray = None if grays is None else _gray_for(grays, rel)
            items.append(db.ItemSpec(name, rel, color, gray))
    return methods, items


def _existing_dir(path: Path, option: str) -> Path:
    if not path.is_dir():
        raise UserError(f"{option} folder not found: {path}")
    return path.resolve()


def _gray_for(index: dict[str, list[Path]], rel: str) -> Path:
    matches = index.get(str(PurePosixPath(rel).with_suffix("")), [])
    if len(matches) != 1:
        what = "no gray image" if not matches else f"{len(matches)} gray images"
        raise UserError(f"{what} for {rel} in the --gray folder")
    read_image(matches[0])
    return matches[0]


def _meta(opts: StudyOptions) -> dict[str, str]:
    gray = "" if opts.gray is None else str(opts.gray.resolve())
    return {"images_per_method": str(opts.images), "seed": str(opts.seed), "gray_root": gray}


def open_study(db_path: Path, opts: StudyOptions) -> str:
    """Create the study in `db_path`, or check that it is the one asked for; returns a
    one-line summary."""
    if db_path.exists():
        with db.open_db(db_path) as conn:
            if not db.has_study(conn):
                raise UserError(f"{db_path} exists and is not a study database")
            if opts.runs:
                _check_same_study(conn, opts, db_path)
            return _summary(conn, "continuing")
    methods, items = plan_items(opts)
    with atomic_path(db_path, force=False) as tmp:  # a failed setup leaves no database
        with db.open_db(tmp, create=True) as conn:
            db.create_study(conn, methods, items, _meta(opts))
            summary = _summary(conn, "created")
    return summary


def _check_same_study(conn, opts: StudyOptions, db_path: Path) -> None:
    stored = [(m.name, m.root) for m in db.list_methods(conn)]
    asked = [(m.name, m.root) for m in map(parse_run, opts.runs)]
    meta = db.read_meta(conn)
    if sorted(stored) != sorted(asked) or any(meta.get(k) != v for k, v in _meta(opts).items()):
        raise UserError(
            f"{db_path} holds another study ({', '.join(n for n, _ in stored)}; "
            f"{meta['images_per_method']} images, seed {meta['seed']}): "
            "use a new --db, or leave out --runs to continue it"
        )


def _summary(conn, verb: str) -> str:
    methods = db.list_methods(conn)
    n_items = len(db.list_items(conn))
    return (
        f"{verb} study: {len(methods)} method(s) ({', '.join(m.name for m in methods)}), "
        f"{n_items} image(s) per rater"
    )
