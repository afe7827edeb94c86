"""Scene colorization: a gray image of any size in, RGB out, in memory bounded by its width.

The pipeline, for a source of H x W pixels and a working scale s:

1. The working image is (round(s H), round(s W)) pixels. Its rows are made from the
   source's rows by exact separable resampling (area average when shrinking, bilinear when
   enlarging), with invalid (nodata) pixels left out of the averages.
2. The model runs on overlapping tiles of the working image, invalid pixels filled with
   their tile's valid mean (never black). Default tile: 2x the model's training size, so
   the model never meets inputs far larger than its training crops (a U-Net run far
   beyond its training geometry paints a periodic grid of blobs), yet has the context
   that a tile at the training size lacks near its edges (an under-trained model is
   duller there, which blended 1x tiles turn into a tile-periodic grid; both in
   docs/performance.md).
   Tiles overlap by 3/8 of their size; the outer 1/8 of each tile is left to its
   neighbour and the rest blends with raised-cosine weights
   (:mod:`.tiling`), one tile row at a time.
3. Chroma rows at the working scale are resampled back to full resolution (smoothed by
   [1, 2, 1] / 4 first when enlarged, see :class:`Resample`) and merged with the source's
   own full-resolution luminance; blocks of rows go to the sink as soon as
   they are finished.

The source is read, and the sink written, in windows: a batch of tiles (at the working
scale) or an output block of `block` rows x COLUMNS columns at full resolution. What grows
with the scene is only the blend buffers of one tile row at the working scale (about
3 x tile x working width floats), never anything proportional to the height.

The working scale of ``--scale auto`` is :mod:`.scale`'s rule; the row resampling is
:mod:`.resample`; the colour merge is :mod:`rscolor.color.tensor`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from rscolor.color import ColorSpace
from rscolor.color.tensor import chroma_space, merge_rgb, to_chroma
from rscolor.errors import UserError
from rscolor.modelfile import ModelMeta
from rscolor.scene.resample import Resample
from rscolor.scene.scale import resolve_scale
from rscolor.scene.sources import ArraySink, ArraySource, Sink, Source
from rscolor.scene.tiling import TileGrid, blend_tile_rows

TILE_FACTOR = 2  # default tile = 2 x the training size (see plan_grid and docs/performance.md)
BATCH_PIXELS = 2**17  # default tiles per model call: this many working pixels (2 tiles of 256)
COLUMNS = 2048  # full-resolution columns merged and written at a time
READ_ROWS = 256  # full-resolution rows read at a time when shrinking to the working scale


class Predictor(Protocol):
    """What the pipeline needs of a model (:class:`Colorizer` and the ONNX backend)."""

    space: ColorSpace
    meta: ModelMeta

    @property
    def size_multiple(self) -> int: ...

    @property
    def train_size(self) -> int: ...

    def predict_batch(self, lum: torch.Tensor) -> torch.Tensor: ...


@dataclass
class SceneOptions:
    """How to run: working scale, tiling, batching (None = the model's default)."""

    scale: float | None = None
    tile: int | None = None
    overlap: int | None = None
    margin: int | None = None
    batch: int | None = None  # None: BATCH_PIXELS worth of tiles
    block: int = 256  # full-resolution output rows per step
    progress: bool = True


@dataclass
class SceneReport:
    width: int
    height: int
    scale: float
    scale_source: str
    work_width: int
    work_height: int
    tile: int
    overlap: int
    margin: int
    tile_shape: tuple[int, int]
    batch: int
    tiles: int
    tiles_run: int
    seconds: float = 0.0
    predict_seconds: float = 0.0
    output_format: str = ""  # the output's format (`rscolor.scene.formats`)
    finish_seconds: float = 0.0  # its finaliser: for a COG, the copy with overviews

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------- tiling
def default_tile(predictor: Predictor) -> int:
    """TILE_FACTOR x the training size, rounded up to the model's size multiple."""
    m = predictor.size_multiple
    return -(-TILE_FACTOR * predictor.train_size // m) * m


def plan_grid(predictor: Predictor, options: SceneOptions, height: int, width: int) -> TileGrid:
    """The tile grid at the working scale. Defaults: tile = 2 x the training size, overlap
    = 3/8 of the tile (`default_overlap`), of which the outer 1/8 (the margin) is left to
    the neighbour."""
    m = predictor.size_multiple
    tile = options.tile if options.tile is not None else default_tile(predictor)
    if tile <= 0 or tile % m:
        raise UserError(f"--tile must be a positive multiple of {m} (the model's size multiple)")
    overlap = default_overlap(tile, m) if options.overlap is None else options.overlap
    if not 0 <= overlap < tile:
        raise UserError(f"--overlap must be at least 0 and less than the tile ({tile})")
    margin = min(tile // 8, overlap // 3) if options.margin is None else options.margin
    if not 0 <= 2 * margin <= overlap:
        raise UserError(f"--margin must be at least 0 and at most half the overlap ({overlap})")
    return TileGrid(height, width, tile, overlap, margin, m)


def default_overlap(tile: int, align: int) -> int:
    """3/8 of the tile, or, when tile starts aligned to the model's size multiple could not
    step the remaining 5/8, the overlap that leaves a step of the next multiple up, if it
    keeps at least a quarter of the tile: a 256 px tile of a model whose size multiple is 64
    would otherwise step 128 px (1.56x the tiles of a 160 px step); it steps 192 over a
    64 px overlap instead (0.71x)."""
    overlap = 3 * tile // 8
    if (tile - overlap) % align == 0:
        return overlap
    longer = -(-(tile - overlap) // align) * align
    return tile - longer if 4 * (tile - longer) >= tile else overlap


def resolve_batch(options: SceneOptions, tile: int) -> int:
    """Tiles per model call. Larger batches buy no speed on a CPU once a tile is a few
    hundred pixels a side, and activation memory grows with them."""
    batch = options.batch if options.batch is not None else max(1, BATCH_PIXELS // tile**2)
    if batch < 1:
        raise UserError("--batch must be at least 1")
    return batch


# ------------------------------------------------------------------------ pipeline
class _Rows:
    """Working-scale chroma rows [start, start + n) kept for the next output blocks."""

    def __init__(self, rows: Iterator[tuple[int, np.ndarray]]) -> None:
        self._rows = rows
        self.start = 0
        self.data: np.ndarray | None = None

    @property
    def end(self) -> int:
        return self.start + (0 if self.data is None else self.data.shape[1])

    def take(self, lo: int, hi: int) -> np.ndarray:
        """Rows [lo, hi); rows before `lo` are dropped (blocks come in order)."""
        while self.end < hi:
            row, values = next(self._rows)
            if self.data is None:
                self.start, self.data = row, values
            else:
                self.data = np.concatenate([self.data, values], 1)
        assert self.data is not None
        self.data = self.data[:, lo - self.start :]
        self.start = lo
        return self.data[:, : hi - lo]


def _fill_invalid(lum: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invalid pixels take their tile's valid mean. Returns (filled, tile has data)."""
    counts = valid.sum((1, 2))
    means = (lum * valid).sum((1, 2)) / np.maximum(counts, 1)
    return np.where(valid, lum, means[:, None, None]).astype(np.float32), counts > 0


class ScenePipeline:
    """One run of the pipeline over a source, writing to a sink."""

    def __init__(
        self,
        predictor: Predictor,
        source: Source,
        options: SceneOptions,
        pixel_size: float | None = None,
    ) -> None:
        self.predictor = predictor
        self.source = source
        self.options = options
        h, w = source.height, source.width
        self.scale, why = resolve_scale(options.scale, predictor.meta, pixel_size, (h, w))
        wh, ww = max(1, round(h * self.scale)), max(1, round(w * self.scale))
        self.grid = plan_grid(predictor, options, wh, ww)
        self.batch = resolve_batch(options, self.grid.tile)
        self.down_y, self.down_x = Resample(h, wh), Resample(w, ww)
        self.up_y, self.up_x = Resample(wh, h, smooth=True), Resample(ww, w, smooth=True)
        self.report = SceneReport(
            width=w,
            height=h,
            scale=self.scale,
            scale_source=why,
            work_width=ww,
            work_height=wh,
            tile=self.grid.tile,
            overlap=self.grid.overlap,
            margin=self.grid.margin,
            tile_shape=(self.grid.tile_h, self.grid.tile_w),
            batch=self.batch,
            tiles=self.grid.count,
            tiles_run=0,
        )

    def working_window(self, y0: int, y1: int, x0: int, x1: int) -> tuple[np.ndarray, np.ndarray]:
        """Working-scale rows [y0, y1) x columns [x0, x1): (normalised luminance, valid).

        When shrinking, the source is read READ_ROWS rows at a time and each part added in
        (the resampling is linear), so a small --scale does not mean a huge read."""
        (a, b), (c, d) = self.down_y.support(y0, y1), self.down_x.support(x0, x1)
        if self.down_y.matrix is None and self.down_x.matrix is None:
            gray, valid = self.source.read(a, b, c, d)
            return self.predictor.space.gray_to_lum(gray), valid
        step = READ_ROWS if self.down_y.matrix is not None else b - a
        num = np.zeros((y1 - y0, x1 - x0), np.float32)
        den = np.zeros_like(num)
        for r0 in range(a, b, step):
            r1 = min(b, r0 + step)
            gray, valid = self.source.read(r0, r1, c, d)
            weight = valid.astype(np.float32)
            for total, part in ((num, gray * weight), (den, weight)):
                total += self.down_y.along(self.down_x.along(part, 1, x0, x1, c), 0, y0, y1, r0)
        valid = den > 1e-6
        gray = np.where(valid, num / np.maximum(den, 1e-6), 0).astype(np.float32)
        return self.predictor.space.gray_to_lum(gray), valid

    def predict_row(self, y0: int, bar: tqdm) -> Iterator[np.ndarray]:
        """Predictions (C x tile_h x tile_w) of the tiles whose top is `y0`, left to right,
        computed `batch` tiles at a time from a window just wide enough for them."""
        grid, batch = self.grid, self.batch
        xs = grid.col_starts
        shape = (self.predictor.space.target_channels, grid.tile_h, grid.tile_w)
        for i in range(0, len(xs), batch):
            group = xs[i : i + batch]
            left = group[0]
            lum, valid = self.working_window(y0, y0 + grid.tile_h, left, group[-1] + grid.tile_w)
            lum_t = np.stack([lum[:, x - left : x - left + grid.tile_w] for x in group])
            valid_t = np.stack([valid[:, x - left : x - left + grid.tile_w] for x in group])
            lum_t, has_data = _fill_invalid(lum_t, valid_t)
            out = np.zeros((len(group),) + shape, np.float32)  # no data: neutral chroma
            idx = np.flatnonzero(has_data)
            if idx.size:
                start = time.perf_counter()
                pred = self.predictor.predict_batch(torch.from_numpy(lum_t[idx, None]))
                self.report.predict_seconds += time.perf_counter() - start
                out[idx] = pred.numpy()
                self.report.tiles_run += idx.size
            bar.update(len(group))
            yield from out

    def write_block(self, sink: Sink, rows: _Rows, a: int, b: int) -> None:
        """Full-resolution rows [a, b): chroma upsampled, merged with the input's own
        luminance, written `COLUMNS` columns at a time."""
        lo, hi = self.up_y.support(a, b)
        chroma_rows = self.up_y.along(rows.take(lo, hi), 1, a, b, lo)
        merge_space = chroma_space(self.predictor.space)
        for c0 in range(0, self.source.width, COLUMNS):
            c1 = min(self.source.width, c0 + COLUMNS)
            lx, hx = self.up_x.support(c0, c1)
            chroma = self.up_x.along(chroma_rows[:, :, lx:hx], 2, c0, c1, lx)
            gray, valid = self.source.read(a, b, c0, c1)
            sink.write(a, c0, merge_rgb(merge_space, gray, chroma), valid)

    def run(self, sink: Sink) -> SceneReport:
        start = time.perf_counter()
        space = self.predictor.space
        with tqdm(
            total=self.grid.count, desc="tiles", unit="tile", disable=not self.options.progress
        ) as bar:
            blended = blend_tile_rows(self.grid, lambda y0: self.predict_row(y0, bar))
            rows = _Rows((y, to_chroma(space, values)) for y, values in blended)
            for a in range(0, self.source.height, self.options.block):
                self.write_block(sink, rows, a, min(self.source.height, a + self.options.block))
        self.report.seconds = time.perf_counter() - start
        return self.report


# ------------------------------------------------------------------- in memory
def colorize_into(
    predictor: Predictor, gray: np.ndarray, sink: Sink, options: SceneOptions | None = None
) -> SceneReport:
    """Gray H x W in [0, 1] (a picture in memory) through the tiled pipeline into `sink`."""
    source = ArraySource(gray)
    return ScenePipeline(predictor, source, options or SceneOptions(progress=False)).run(sink)


def colorize_array(
    predictor: Predictor, gray: np.ndarray, options: SceneOptions | None = None
) -> np.ndarray:
    """Gray H x W in [0, 1] -> uint8 RGB through the tiled pipeline."""
    sink = ArraySink(*gray.shape[:2])
    colorize_into(predictor, gray, sink, options)
    return sink.rgb
