"""Runs in worker processes (`--jobs`)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def parallel_map(fn: Callable[..., Any], calls: list[tuple[Any, ...]], jobs: int) -> list[Any]:
    """fn(*args) for each args, in order: in this process, or with jobs > 1 in that many
    fresh worker processes (spawned: CUDA cannot be forked)."""
    if jobs <= 1 or len(calls) <= 1:
        return [fn(*args) for args in calls]
    context = multiprocessing.get_context("spawn")
    # Workers are reused run after run (a Trainer frees its memory when it is done);
    # max_tasks_per_child=1 would start each run fresh but can deadlock (CPython gh-115634).
    workers = min(jobs, len(calls))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(fn, *args) for args in calls]
        return [f.result() for f in futures]
