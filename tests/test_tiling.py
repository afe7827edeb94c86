"""Tile grids, blend weights and row-by-row blending (no model needed)."""

import numpy as np
import pytest

from rscolor.scene.tiling import TileGrid, blend_ramp, blend_tile_rows, tile_starts


@pytest.mark.parametrize(
    ("length", "tile", "overlap"), [(100, 32, 8), (96, 32, 0), (33, 32, 8), (20, 32, 8)]
)
def test_tiles_cover_the_axis_and_end_flush(length: int, tile: int, overlap: int) -> None:
    starts = tile_starts(length, tile, overlap)
    size = min(tile, length)
    covered = np.zeros(length, int)
    for s in starts:
        covered[s : s + size] += 1
    assert covered.min() >= 1 and starts[0] == 0 and starts[-1] + size == length
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))
    assert len(set(np.diff(starts))) <= 2  # evenly spaced (up to rounding)


def test_bad_overlap_is_refused() -> None:
    with pytest.raises(ValueError):
        tile_starts(100, 32, 32)


def test_ramp_is_positive_symmetric_and_flat_inside() -> None:
    ramp = blend_ramp(32, 8)
    assert ramp.min() > 0 and ramp.max() == 1
    np.testing.assert_allclose(ramp, ramp[::-1])
    assert (ramp[8:24] == 1).all() and np.all(np.diff(ramp[:8]) > 0)
    assert (blend_ramp(32, 0) == 1).all()


def _field(h: int, w: int, channels: int = 2) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([np.sin(x / 7 + c) + np.cos(y / 5 - c) for c in range(channels)])


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap"), [(70, 90, 32, 8), (50, 40, 64, 16), (96, 64, 32, 0)]
)
def test_blending_exact_predictions_gives_back_the_field(
    h: int, w: int, tile: int, overlap: int
) -> None:
    """Tiles that agree blend to exactly what they agree on; rows come once, in order."""
    grid = TileGrid(h, w, tile, overlap)
    field = _field(h, w)

    def predict_row(y0: int) -> np.ndarray:
        return np.stack(
            [field[:, y0 : y0 + grid.tile_h, x : x + grid.tile_w] for x in grid.col_starts]
        )

    pieces = list(blend_tile_rows(grid, predict_row))
    assert [row for row, _ in pieces] == sorted(row for row, _ in pieces)
    out = np.concatenate([values for _, values in pieces], 1)
    assert out.shape == field.shape and pieces[0][0] == 0
    np.testing.assert_allclose(out, field, atol=1e-5)


def test_disagreeing_tiles_meet_without_a_step() -> None:
    """Each tile's prediction is off by its own constant (what a model does near its tile
    edges): with overlap the blend moves between them gradually, without overlap it jumps."""
    h, w, tile = 64, 200, 64

    def blended(overlap: int) -> np.ndarray:
        grid = TileGrid(h, w, tile, overlap)

        def predict_row(y0: int) -> np.ndarray:
            return np.stack(
                [
                    np.full((1, grid.tile_h, grid.tile_w), float(i % 2))
                    for i, _ in enumerate(grid.col_starts)
                ]
            )

        return np.concatenate([v for _, v in blend_tile_rows(grid, predict_row)], 1)[0]

    hard = np.abs(np.diff(blended(0), axis=1)).max()
    soft = np.abs(np.diff(blended(16), axis=1)).max()
    assert hard >= 0.5  # tiles that overlap with flat weights still jump
    assert soft < 0.2  # a 1.0 disagreement spread over 16 px of raised cosine
