"""The scene pipeline: seams, tiled vs whole, the blob guard, bounded reads, resampling,
merging, the default scale, and `rscolor colorize` on rasters (including its errors)."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from rscolor.color import get_color_space
from rscolor.color.tensor import merge_rgb
from rscolor.errors import UserError
from rscolor.inference.batch import colorize_file, plan_outputs, rgb_colorizer
from rscolor.inference.colorizer import load_colorizer
from rscolor.scene import pipeline as scene
from rscolor.scene.output import colorize_raster
from rscolor.scene.pipeline import SceneOptions, colorize_array
from rscolor.scene.resample import Resample, resample_matrix
from rscolor.scene.scale import AUTO_MIN_SCALE, default_scale, parse_scale, resolve_scale
from rscolor.scene.sources import ArraySink, ArraySource
from rscolor.scene.tiling import tile_starts

from .helpers import (
    assert_user_error,
    read_geotiff,
    run_cli,
    save_tiny_checkpoint,
    smooth_field,
    tiny_colorizer,
    write_geotiff,
)


@pytest.fixture
def chroma_of(monkeypatch):
    """Run the pipeline on a gray array and return its full-resolution chroma (C x H x W),
    captured where it is merged with the luminance."""

    def run(colorizer, gray: np.ndarray, **options) -> np.ndarray:
        parts: list[np.ndarray] = []
        merge = scene.merge_rgb

        def capture(space, g, target):
            parts.append(target.copy())
            return merge(space, g, target)

        monkeypatch.setattr(scene, "merge_rgb", capture)
        colorize_array(colorizer, gray, SceneOptions(progress=False, **options))
        monkeypatch.setattr(scene, "merge_rgb", merge)
        return np.concatenate(parts, 1)

    return run


def whole_chroma(colorizer, gray: np.ndarray) -> np.ndarray:
    return np.moveaxis(colorizer.predict_target(colorizer.space.gray_to_lum(gray)), -1, 0)


def test_smooth_input_has_no_step_at_tile_borders(chroma_of) -> None:
    """Tiles see less context than the whole image, so near their edges they disagree with
    it. Without overlap that disagreement jumps at every tile border; with the blended
    overlap the border columns are no steeper than the rest of the image."""
    col = tiny_colorizer(chroma_gain=1.0)
    gray = smooth_field(96, 160, seed=1)
    whole = whole_chroma(col, gray)
    border_step, inner_step = {}, {}
    for overlap in (0, 8):
        diff = chroma_of(col, gray, tile=32, overlap=overlap) - whole
        step = np.abs(np.diff(diff, axis=2)).max(0)  # between column x and x + 1
        starts = tile_starts(160, 32, overlap)
        border = sorted({x - 1 for x in starts[1:]} | {x + 31 for x in starts[:-1]})
        inner = [c for c in range(159) if c not in border]
        border_step[overlap], inner_step[overlap] = step[:, border].max(), step[:, inner].max()
    assert border_step[0] > inner_step[0]  # the test sees a seam where there is one
    assert border_step[8] <= inner_step[8] and border_step[8] < border_step[0] / 3


@pytest.mark.parametrize(
    ("overrides", "max_tol", "mean_tol"),
    [({"generator__name": "unet", "generator__depth": 3}, 0.01, 0.001), ({}, 0.05, 0.01)],
    ids=["unet", "joint_stream"],
)
def test_tiled_matches_untiled_away_from_borders(chroma_of, overrides, max_tol, mean_tol) -> None:
    """Normalised chroma units (ab / 110). The joint stream's LCFE looks at its whole input,
    so its tolerance is looser than the local U-Net's."""
    col = tiny_colorizer(chroma_gain=1.0, **overrides)
    gray = smooth_field(128, 192, seed=1)
    diff = np.abs(chroma_of(col, gray, tile=64, overlap=16) - whole_chroma(col, gray))[
        :, 8:-8, 8:-8
    ]
    assert diff.max() < max_tol and diff.mean() < mean_tol


def _spy_sizes(col) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    predict = col.predict_batch

    def spy(lum: torch.Tensor) -> torch.Tensor:
        sizes.append(tuple(lum.shape[-2:]))
        return predict(lum)

    col.predict_batch = spy
    return sizes


def test_defaults_never_run_the_model_far_beyond_its_training_size(tmp_path: Path) -> None:
    """The blob artifact comes from running a U-Net on inputs far larger than its training
    crops. By default every path (big picture, raster at any default scale) gives the model
    tiles of at most 2x its training size; pictures up to that size run whole, as before."""
    col = tiny_colorizer()
    sizes = _spy_sizes(col)
    limit = 2 * col.train_size
    big = smooth_field(10 * col.train_size, 7 * col.train_size)
    Image.fromarray((big * 255).astype(np.uint8)).save(tmp_path / "big.png")
    colorize_file(col, tmp_path / "big.png", tmp_path / "big_out.png")
    write_geotiff(tmp_path / "scene.tif", (big * 60000).astype(np.uint16))
    colorize_raster(
        col, tmp_path / "scene.tif", tmp_path / "scene_out.tif", SceneOptions(progress=False)
    )
    assert len(sizes) > 2 and max(max(s) for s in sizes) <= limit
    col.meta = replace(col.meta, scene_scale=0.5)  # a model asking for a coarser scale
    colorize_raster(
        col, tmp_path / "scene.tif", tmp_path / "half.tif", SceneOptions(progress=False)
    )
    assert max(max(s) for s in sizes) <= limit
    col.meta = replace(col.meta, scene_scale=None)
    sizes.clear()
    small = smooth_field(limit, limit - 8)
    Image.fromarray((small * 255).astype(np.uint8)).save(tmp_path / "small.png")
    colorize_file(col, tmp_path / "small.png", tmp_path / "small_out.png")
    assert sizes == [small.shape]  # whole, as before: one call


class DullEdges:
    """A stand-in for an under-trained model: it predicts one colour, duller towards the
    edges of its input (it lacks context there), as the AID model in training does."""

    space = get_color_space("lab")
    size_multiple = 8
    train_size = 32
    meta: dict = {}

    def predict_batch(self, lum: torch.Tensor) -> torch.Tensor:
        h, w = lum.shape[-2:]
        y, x = torch.arange(h), torch.arange(w)
        edge = torch.minimum(
            torch.minimum(y, h - 1 - y)[:, None], torch.minimum(x, w - 1 - x)[None]
        )
        gain = 1 - 0.5 * torch.exp(-edge / (self.train_size / 8))
        return torch.stack([0.2 * gain, 0.1 * gain]).expand(lum.shape[0], 2, h, w)


def test_default_tiling_leaves_no_tile_periodic_grid(chroma_of) -> None:
    """On a flat scene, tiles at the training size blended over a quarter tile (the usual
    recipe) leave the duller tile edges as a periodic grid of dips; the default tiles
    (2x the training size, edges left to the neighbour) do not."""
    gray = np.full((300, 420), 0.5, np.float32)

    def dip(**options) -> float:
        chroma = np.linalg.norm(chroma_of(DullEdges(), gray, **options), axis=0)[16:-16, 16:-16]
        return float(1 - chroma.min() / chroma.max())

    assert dip(tile=32, overlap=8, margin=0) > 0.1
    assert dip() < 0.05


def test_default_overlap_keeps_the_step_long_for_coarse_size_multiples() -> None:
    """Tile starts are aligned to the model's size multiple: with 3/8 overlap a 256 px tile
    of a model whose size multiple is 64 would step 128 px (1.56x the tiles of a model whose
    multiple is 32). The default overlap is 64 px there (a 192 px step), and stays 3/8 where
    5/8 of the tile is already aligned."""
    models = {m: SimpleNamespace(train_size=128, size_multiple=m) for m in (1, 32, 64)}
    grids = {m: scene.plan_grid(model, SceneOptions(), 4915, 4915) for m, model in models.items()}
    assert {m: (g.tile, g.overlap, g.margin) for m, g in grids.items()} == {
        1: (256, 96, 32),
        32: (256, 96, 32),
        64: (256, 64, 21),
    }
    assert grids[64].count < grids[32].count
    assert scene.default_overlap(256, 128) == 96  # a 128 px step would leave 1/2: not taken


class CountingSource(ArraySource):
    """Remembers how many rows each read asked for."""

    def __init__(self, gray: np.ndarray) -> None:
        super().__init__(gray)
        self.reads: list[int] = []

    def read(self, row0: int, row1: int, col0: int, col1: int) -> tuple[np.ndarray, np.ndarray]:
        self.reads.append((row1 - row0) * (col1 - col0))
        return super().read(row0, row1, col0, col1)


def test_reads_are_bounded_windows_whatever_the_scene_size() -> None:
    """What keeps memory flat: the source is read in windows (a batch of tiles, or an
    output block of 64 rows x 2048 columns here), never whole, each pixel about 3 times."""
    col = tiny_colorizer()
    largest = []
    for height, width in ((160, 96), (640, 4500)):
        source = CountingSource(smooth_field(height, width))
        sink = ArraySink(height, width)
        opts = SceneOptions(scale=0.5, tile=32, block=64, batch=4, progress=False)
        scene.ScenePipeline(col, source, opts).run(sink)
        largest.append(max(source.reads))
        assert sum(source.reads) < 3.5 * height * width
        assert sink.rgb.any(axis=-1).all()
    assert largest[1] <= 64 * scene.COLUMNS


def test_reading_in_row_chunks_changes_nothing(monkeypatch) -> None:
    """Shrinking to the working scale reads the source READ_ROWS rows at a time."""
    col = tiny_colorizer()
    gray = smooth_field(400, 150)
    opts = SceneOptions(scale=0.15, tile=32, progress=False)
    whole = colorize_array(col, gray, opts)
    monkeypatch.setattr(scene, "READ_ROWS", 7)
    source = CountingSource(gray)
    sink = ArraySink(400, 150)
    scene.ScenePipeline(col, source, opts).run(sink)
    np.testing.assert_array_equal(sink.rgb, whole)
    assert min(source.reads) <= 7 * 150 and max(source.reads) <= 256 * 150  # 7 rows; blocks


def test_resample_matrices() -> None:
    down = resample_matrix(10, 5).toarray()
    np.testing.assert_allclose(down.sum(1), 1, atol=1e-6)
    np.testing.assert_allclose(down @ np.arange(10), [0.5, 2.5, 4.5, 6.5, 8.5], atol=1e-5)
    odd = resample_matrix(10, 3).toarray()  # fractional footprints still average
    np.testing.assert_allclose(odd.sum(1), 1, atol=1e-6)
    np.testing.assert_allclose(odd @ np.ones(10), 1, atol=1e-6)
    up = resample_matrix(4, 8).toarray()
    np.testing.assert_allclose(up.sum(1), 1, atol=1e-6)
    ramp = up @ np.arange(4.0)
    np.testing.assert_allclose(np.diff(ramp[1:-1]), 0.5, atol=1e-6)  # linear inside
    checker = (-1.0) ** np.arange(40)  # a strided network's 2-px checkerboard
    plain, smooth = Resample(40, 160), Resample(40, 160, smooth=True)
    assert np.abs(plain.along(checker[None], 1, 0, 160, 0)).max() > 0.9
    assert np.abs(smooth.along(checker[None], 1, 0, 160, 0)[0, 8:-8]).max() < 1e-6
    np.testing.assert_allclose(
        smooth.along(np.arange(40.0)[None], 1, 0, 160, 0)[0, 8:-8],
        plain.along(np.arange(40.0)[None], 1, 0, 160, 0)[0, 8:-8],
        atol=1e-4,
    )


def test_fast_lab_merge_equals_the_colour_module() -> None:
    rng = np.random.default_rng(0)
    gray = rng.uniform(0, 1, (40, 50)).astype(np.float32)
    ab = rng.uniform(-0.6, 0.6, (2, 40, 50)).astype(np.float32)
    space = get_color_space("lab")
    reference = space.merge(space.gray_to_lum(gray), np.moveaxis(ab, 0, -1))
    got = merge_rgb(space, gray, ab).astype(int)
    assert np.abs(got - np.round(reference * 255)).max() <= 1


def test_default_scale_comes_from_the_model_metadata() -> None:
    assert default_scale({}, 0.5)[0] == 1.0
    assert default_scale({"scene_scale": 0.25}, None)[0] == 0.25
    scale, why = default_scale({"gsd_m": 2.0, "scene_scale": 0.9}, 0.5)
    assert scale == 0.25 and "gsd_m" in why
    with pytest.raises(UserError, match="--scale"):
        colorize_array(
            tiny_colorizer(), smooth_field(32, 32), SceneOptions(scale=0, progress=False)
        )
    with pytest.raises(UserError, match="--tile"):
        colorize_array(
            tiny_colorizer(), smooth_field(32, 32), SceneOptions(tile=30, progress=False)
        )


# ----------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt")


def test_cli_colorizes_a_geotiff_and_a_picture(ckpt, tmp_path: Path, capsys) -> None:
    data = (1000 + 2000 * smooth_field(100, 70)).astype(np.uint16)
    profile = write_geotiff(tmp_path / "pan.tif", data, nodata=0)
    Image.fromarray((255 * smooth_field(40, 40)).astype(np.uint8)).save(tmp_path / "photo.png")
    args = ["colorize", tmp_path / "pan.tif", tmp_path / "photo.png", "-o", tmp_path / "out"]
    code, out, _ = run_cli(
        args + ["--checkpoint", ckpt, "--tile", 32, "--scale", 0.5, "--quiet"], capsys
    )
    assert code == 0, out
    rgb, got = read_geotiff(tmp_path / "out" / "pan.tif")
    assert got["crs"].to_string() == profile["crs"] and got["transform"] == profile["transform"]
    assert rgb.shape == (3, 100, 70)
    assert Image.open(tmp_path / "out" / "photo.png").size == (40, 40)
    assert "working scale 0.5" in out


def test_cli_raster_errors_are_one_line(ckpt, tmp_path: Path, capsys) -> None:
    write_geotiff(tmp_path / "ms.tif", np.ones((3, 16, 16), np.uint16))
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00 not a tiff")
    out = tmp_path / "out"
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    cases = [
        ([bad, "-o", out], "cannot read raster"),
        ([tmp_path / "ms.tif", "-o", out, "--band", 4], "band 4 out of range"),
        ([tmp_path / "ms.tif", "-o", out], "choose one with --band"),
        ([tmp_path / "ms.tif", "-o", blocker / "sub", "--band", 1], "cannot write to"),
        ([tmp_path / "ms.tif", "-o", out, "--band", 1, "--backend", "tpu"], "unknown backend"),
        ([tmp_path / "ms.tif", "-o", out, "--band", 1, "--value-range", "x"], "LOW,HIGH"),
    ]
    for args, needle in cases:
        code, _, err = run_cli(["colorize", *args, "--checkpoint", ckpt, "--quiet"], capsys)
        assert_user_error(code, err, needle)
    assert not out.exists() or not any(out.iterdir())
    out.mkdir(exist_ok=True)
    (out / "ms.tif").write_bytes(b"keep me")
    code, _, err = run_cli(
        ["colorize", tmp_path / "ms.tif", "-o", out, "--band", 1, "--checkpoint", ckpt], capsys
    )
    assert_user_error(code, err, "--force")
    assert (out / "ms.tif").read_bytes() == b"keep me"


def test_failed_run_leaves_no_partial_output(tmp_path: Path) -> None:
    col = tiny_colorizer()
    calls = []

    def failing(lum: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("killed mid-run")
        return torch.zeros(lum.shape[0], 2, *lum.shape[-2:])

    col.predict_batch = failing
    write_geotiff(tmp_path / "in.tif", (60000 * smooth_field(300, 64)).astype(np.uint16))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="mid-run"):
        colorize_raster(
            col, tmp_path / "in.tif", out / "in.tif", SceneOptions(tile=32, progress=False)
        )
    assert len(calls) == 2 and not any(out.iterdir())


def test_plan_routes_pictures_and_rasters(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "rgb.tif")  # an ordinary TIFF
    write_geotiff(tmp_path / "geo.tif", np.zeros((8, 8), np.uint8))
    Image.fromarray(np.zeros((8, 8), np.uint16)).save(tmp_path / "deep.png")
    jobs = dict(plan_outputs([tmp_path], tmp_path / "o", force=False))
    assert jobs[tmp_path / "rgb.tif"].name == "rgb.png"
    assert jobs[tmp_path / "geo.tif"].name == "geo.tif"
    assert jobs[tmp_path / "deep.png"].name == "deep.tif"


def test_scale_auto_matches_ground_pixel_size_then_scene_size() -> None:
    meta = {"gsd_m": 2.0, "scene_px": 150}
    # A raster with a CRS in metres: its pixel size over the training pixel size.
    assert default_scale(meta, 0.5, (4000, 4000))[0] == 0.25
    assert default_scale(meta, 10.0, (400, 400))[0] == 1.0  # coarser: never enlarged
    assert default_scale(meta, 0.05, (400, 400))[0] == AUTO_MIN_SCALE  # at most 8x smaller
    # A picture without one: the training scene size over its shorter side.
    scale, why = default_scale(meta, None, (400, 600))
    assert scale == pytest.approx(0.375) and "scene" in why
    assert default_scale(meta, None, (128, 128))[0] == 1.0  # smaller than a scene
    assert default_scale({"scene_px": 150}, 0.5, (300, 300))[0] == 0.5  # no gsd_m
    assert default_scale(meta, None, None)[0] == 1.0


def test_parse_scale_reads_auto_and_factors() -> None:
    assert parse_scale("auto") is None and parse_scale("AUTO") is None
    assert parse_scale("0.5") == 0.5
    for bad in ("zero", "0", "-1", "9"):
        with pytest.raises(UserError, match="--scale"):
            parse_scale(bad)


def test_cli_scale_auto_is_the_default_and_says_why(tmp_path: Path, capsys) -> None:
    from rscolor.modelfile import inference_payload, save_checkpoint

    col = tiny_colorizer()
    meta = {**col.meta.to_dict(), "gsd_m": 4.0, "scene_px": 24}
    model = tmp_path / "auto.pt"
    save_checkpoint(model, inference_payload(col.generator, col.cfg, meta))
    data = (1000 + 2000 * smooth_field(64, 48)).astype(np.uint16)
    write_geotiff(tmp_path / "pan.tif", data, pixel=2.0)
    args = ["colorize", tmp_path / "pan.tif", "-o", tmp_path / "out", "--checkpoint", model]
    code, out, _ = run_cli(args + ["--tile", 32, "--quiet"], capsys)
    assert code == 0, out
    assert "working scale 0.5" in out and "gsd_m" in out  # 2 m pixels / 4 m training
    # A picture without georeferencing: the model's scene size over its shorter side.
    gray = smooth_field(96, 120)
    scaled, _ = resolve_scale(None, meta, None, gray.shape)
    assert scaled == 0.25
    loaded = load_colorizer(model)
    auto = rgb_colorizer(loaded)(np.repeat(gray[..., None], 3, -1))
    fixed = rgb_colorizer(loaded, 1.0)(np.repeat(gray[..., None], 3, -1))
    assert auto.shape == fixed.shape == (96, 120, 3)
    assert not np.allclose(auto, fixed)  # the model really ran at another scale
