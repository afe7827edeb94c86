"""Tiny colorization "runs" and studies for the rating-study tests (no model involved)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Thread

import numpy as np
from PIL import Image

from rscolor.study.app import create_app, make_study_server
from rscolor.study.plan import StudyOptions, open_study

METHOD_TINTS = {"alpha": (180, 90, 60), "beta": (60, 140, 90)}


def make_runs(root: Path, per_method: int = 3, size: int = 12) -> list[Path]:
    """One folder per method with PNGs at the same relative paths (in a sub-folder)."""
    rng = np.random.default_rng(0)
    runs = []
    for name, tint in METHOD_TINTS.items():
        for i in range(per_method):
            shade = rng.uniform(0.5, 1.0, (size, size, 1))
            img = np.clip(np.array(tint)[None, None] * shade, 0, 255).astype(np.uint8)
            path = root / name / "scenes" / f"scene_{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(path)
        runs.append(root / name)
    return runs


def make_study(tmp_path: Path, images: int = 2) -> Path:
    runs = make_runs(tmp_path / "runs")
    db_path = tmp_path / "study.sqlite"
    open_study(db_path, StudyOptions(tuple(str(r) for r in runs), images=images))
    return db_path


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in page"
    return match.group(1)


@contextmanager
def running_server(db_path: Path) -> Iterator[str]:
    """The study app on 127.0.0.1 at a free port, in a thread; yields its base URL and
    always stops it."""
    server = make_study_server(create_app(db_path), "127.0.0.1", 0, quiet=True)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "study server thread did not stop"
