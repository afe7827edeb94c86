"""ONNX export and the ONNX Runtime backend: parity with torch at any tile size."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from rscolor.inference.onnx_backend import (
    TOLERANCE,
    OnnxRunner,
    exportable,
    load_backend,
    parity,
)
from rscolor.models.lcfe import LCFE, pool_by_matrices, pooled_grid, symbolic_grid
from rscolor.scene.output import colorize_raster
from rscolor.scene.pipeline import SceneOptions

from .helpers import (
    assert_user_error,
    read_geotiff,
    run_cli,
    save_tiny_checkpoint,
    smooth_field,
    tiny_colorizer,
    write_geotiff,
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """(tiny joint-stream checkpoint, its ONNX export made by `rscolor export`)."""
    root = tmp_path_factory.mktemp("onnx")
    ckpt = save_tiny_checkpoint(root / "tiny.pt", chroma_gain=1.0)
    try:
        from rscolor.cli.main import main

        main(["export", "--checkpoint", str(ckpt), "-o", str(root / "tiny.onnx")])
    except SystemExit as exc:  # pragma: no cover - shows the error if export fails
        raise AssertionError(f"export exited {exc.code}") from None
    return ckpt, root / "tiny.onnx"


def test_lcfe_traced_pooling_is_the_eager_pooling() -> None:
    """What LCFE does on symbolic sizes (an export trace) equals its eager path: the same
    grid, and pooling matrices equal to adaptive average pooling, pooled (64 px, 4096
    macro tokens > 1024) or not (32 px)."""
    for h, w in ((8, 12), (32, 48), (64, 64), (37, 90), (256, 96)):
        grid = pooled_grid(h, w, 1024)
        assert tuple(symbolic_grid(h, w, 1024)) == grid
        x = torch.randn(2, 3, h, w)
        torch.testing.assert_close(
            pool_by_matrices(x, grid), F.adaptive_avg_pool2d(x, grid), atol=1e-5, rtol=0
        )
    gen = tiny_colorizer(chroma_gain=1.0).generator
    lcfes = [m for m in gen.modules() if isinstance(m, LCFE)]
    assert lcfes and all("forward" not in vars(m) for m in lcfes)
    with torch.inference_mode():
        lum = torch.rand(2, 1, 128, 160) * 2 - 1
        assert torch.equal(exportable(gen)(lum), gen(lum))  # traced as it is, no swap


def test_onnx_matches_torch_at_any_tile_size(exported) -> None:
    ckpt, model = exported
    onnx_col = load_backend(model, "auto", threads=1)
    torch_col = load_backend(ckpt, "torch", "cpu")
    assert isinstance(onnx_col.runner, OnnxRunner)
    assert onnx_col.size_multiple == torch_col.size_multiple
    assert onnx_col.train_size == torch_col.train_size == 32
    assert onnx_col.space.name == "lab"
    assert parity(torch_col, onnx_col, batch=3) <= TOLERANCE
    lum = torch.rand(1, 1, 50, 70) * 2 - 1  # not a multiple: the backend pads like torch
    diff = (onnx_col.predict_batch(lum) - torch_col.predict_batch(lum)).abs().max().item()
    assert diff <= TOLERANCE


def test_unet_runs_on_onnx_straight_from_a_checkpoint(tmp_path: Path) -> None:
    """``--backend onnx`` on a .pt exports it in memory (the U-Net baselines too)."""
    ckpt = save_tiny_checkpoint(tmp_path / "unet.pt", generator__name="unet", chroma_gain=1.0)
    onnx_col = load_backend(ckpt, "onnx", threads=1)
    assert isinstance(onnx_col.runner, OnnxRunner)
    assert parity(load_backend(ckpt, "torch", "cpu"), onnx_col, seed=1) <= TOLERANCE


def test_scene_with_onnx_backend_equals_torch(exported, tmp_path: Path, capsys) -> None:
    ckpt, model = exported
    write_geotiff(tmp_path / "pan.tif", (60000 * smooth_field(90, 120)).astype(np.uint16), nodata=0)
    code, _, err = run_cli(
        [
            "colorize",
            tmp_path / "pan.tif",
            "-o",
            tmp_path / "onnx",
            "--checkpoint",
            model,
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    colorize_raster(
        load_backend(ckpt, "torch", "cpu"),
        tmp_path / "pan.tif",
        tmp_path / "t.tif",
        SceneOptions(progress=False),
    )
    got, _ = read_geotiff(tmp_path / "onnx" / "pan.tif")
    ref, _ = read_geotiff(tmp_path / "t.tif")
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_export_and_backend_errors(exported, tmp_path: Path, capsys) -> None:
    ckpt, model = exported
    code, _, err = run_cli(["export", "--checkpoint", ckpt, "-o", model], capsys)
    assert_user_error(code, err, "--force")
    code, _, err = run_cli(
        ["export", "--checkpoint", ckpt, "-o", tmp_path / "m.tflite", "--format", "tflite"], capsys
    )
    assert_user_error(code, err, "unknown export format")
    write_geotiff(tmp_path / "pan.tif", np.ones((16, 16), np.uint8))
    code, _, err = run_cli(
        [
            "colorize",
            tmp_path / "pan.tif",
            "-o",
            tmp_path / "o",
            "--checkpoint",
            model,
            "--backend",
            "torch",
        ],
        capsys,
    )
    assert_user_error(code, err, "use --backend onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf")
    code, _, err = run_cli(
        ["colorize", tmp_path / "pan.tif", "-o", tmp_path / "o", "--checkpoint", junk], capsys
    )
    assert_user_error(code, err, "cannot read ONNX model")
    assert not (tmp_path / "o").exists() and not (tmp_path / "m.tflite").exists()
