"""Overlapping tiles over a large image, blended back without seams, one tile row at a time.

Tiles are laid on a regular grid with stride ``tile - overlap``; the last tile of a row or
column is moved back to end at the image border, so every tile has the same shape (tiles
can be batched) and no tile is padded inside the image. Each tile's prediction is
weighted by a separable raised-cosine window that rises over `overlap` pixels at every
edge and never reaches zero; the blend is the weighted sum divided by the summed weights.
The weights are continuous, so a smooth input gives a smooth output across tile borders.

:func:`blend_tile_rows` holds one tile row of accumulation buffers (``tile`` rows of the
image's width) and hands back image rows as soon as no later tile can touch them: memory
depends on the width and the tile size, never on the image height.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

MIN_WEIGHT = 1e-3


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length): the first at 0, the last
    flush with the end, the others on multiples of `align`, as evenly spaced as that
    allows, the fewest such that neighbours share at least `overlap` pixels.

    Aligning starts to the network's size multiple keeps every tile on the same phase of
    its stride-2 grid as the whole image, so overlapping tiles agree (a strided network is
    not shift invariant). A length no longer than the tile gets one tile at 0.
    """
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f"need 0 <= overlap < tile, got tile {tile}, overlap {overlap}")
    if length <= tile:
        return [0]
    span, stride = length - tile, tile - overlap
    gaps = -(-span // stride)
    while True:
        starts = [i * span // gaps // align * align for i in range(gaps)] + [span]
        if all(b - a <= stride for a, b in zip(starts, starts[1:], strict=False)):
            return sorted(set(starts))
        gaps += 1


def blend_ramp(
    size: int, overlap: int, margin: int = 0, first: bool = False, last: bool = False
) -> np.ndarray:
    """1-D tile weight: near zero over `margin` pixels at each end, then a raised cosine
    over the rest of `overlap` - 2 `margin`, then 1. An end at the image border (`first`,
    `last`) stays 1: no other tile covers it.

    The margin is where a tile's prediction is least reliable (it lacks context); the
    neighbour's core covers it. Weights never reach zero (at least MIN_WEIGHT), so every
    pixel a tile covers is defined.
    """
    ramp = np.ones(size, np.float32)
    margin = min(margin, size // 2)
    rise_len = max(min(overlap - 2 * margin, size // 2 - margin), 0)
    rise = np.sin(0.5 * np.pi * (np.arange(rise_len) + 0.5) / max(rise_len, 1)) ** 2
    edge = np.concatenate([np.zeros(margin), rise]).clip(MIN_WEIGHT, 1.0)
    n = edge.size
    if n and not first:
        ramp[:n] = edge
    if n and not last:
        ramp[size - n :] = edge[::-1]
    return ramp


@dataclass(frozen=True)
class TileGrid:
    """Tiles of `tile` px (clipped to the image); neighbours share at least `overlap` px,
    and the outer `margin` px of each tile weigh (almost) nothing where a neighbour's
    core covers them."""

    height: int
    width: int
    tile: int
    overlap: int
    margin: int = 0
    align: int = 1

    @property
    def tile_h(self) -> int:
        return min(self.tile, self.height)

    @property
    def tile_w(self) -> int:
        return min(self.tile, self.width)

    @property
    def row_starts(self) -> list[int]:
        return tile_starts(self.height, self.tile, self.overlap, self.align)

    @property
    def col_starts(self) -> list[int]:
        return tile_starts(self.width, self.tile, self.overlap, self.align)

    @property
    def count(self) -> int:
        return len(self.row_starts) * len(self.col_starts)

    def ramps(self, size: int, length: int, starts: list[int]) -> list[np.ndarray]:
        """The 1-D weights of each tile along an axis (border tiles keep their outer side)."""
        return [
            blend_ramp(size, self.overlap, self.margin, s == 0, s + size >= length) for s in starts
        ]


def blend_row(
    grid: TileGrid, y0: int, tiles: Iterable[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """One tile row's predictions (C x tile_h x tile_w each, one per column start, in
    order; an iterator is consumed as it goes) -> (weighted sum C x tile_h x width, summed
    weights tile_h x width)."""
    (wy,) = grid.ramps(grid.tile_h, grid.height, [y0])
    acc: np.ndarray | None = None
    wsum = np.zeros((grid.tile_h, grid.width), np.float32)
    xs = grid.col_starts
    for x0, wx, pred in zip(xs, grid.ramps(grid.tile_w, grid.width, xs), tiles, strict=True):
        if acc is None:
            acc = np.zeros((pred.shape[0], grid.tile_h, grid.width), np.float32)
        weight = np.outer(wy, wx)
        acc[:, :, x0 : x0 + grid.tile_w] += pred * weight
        wsum[:, x0 : x0 + grid.tile_w] += weight
    assert acc is not None
    return acc, wsum


def blend_tile_rows(
    grid: TileGrid, predict_row: Callable[[int], Iterable[np.ndarray]]
) -> Iterator[tuple[int, np.ndarray]]:
    """Blend every tile row into finished image rows, in order.

    `predict_row(y0)` gives the predictions of the tiles whose top is `y0`
    (C x tile_h x tile_w each, in `grid.col_starts` order). Yields ``(row, values)`` with
    values C x n x width for image rows [row, row + n); the rows cover the image once.
    """
    starts = grid.row_starts
    acc: np.ndarray | None = None
    wsum: np.ndarray | None = None
    top = 0  # image row of acc[:, 0]
    for i, y0 in enumerate(starts):
        row_acc, row_w = blend_row(grid, y0, predict_row(y0))
        if acc is None or wsum is None:
            acc, wsum = row_acc, row_w
        else:
            shift = y0 - top  # rows of the old buffer that are already out
            keep = acc.shape[1] - shift
            row_acc[:, :keep] += acc[:, shift:]
            row_w[:keep] += wsum[shift:]
            acc, wsum = row_acc, row_w
        top = y0
        done = (starts[i + 1] if i + 1 < len(starts) else grid.height) - top
        yield top, acc[:, :done] / wsum[:done]
