"""Picking a subset of a list that keeps its composition."""

from __future__ import annotations

import numpy as np


def evenly_spaced(files: list[str], limit: int | None) -> list[str]:
    """At most `limit` items, evenly spaced over `files` (a class-sorted list keeps every
    class's share); all of them when `limit` is None or not smaller."""
    if not limit or len(files) <= limit:
        return files
    idx = np.linspace(0, len(files) - 1, limit).round().astype(int)
    return [files[i] for i in idx]
