"""--saturation: the predicted chroma scaled around the training mean colour, the same on
every path (torch, ONNX, exported checkpoints, evaluate)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rscolor.errors import UserError
from rscolor.inference.colorizer import load_colorizer
from rscolor.inference.onnx_backend import OnnxRunner, load_backend
from rscolor.metrics.references import mean_chroma_reference

from .helpers import (
    assert_user_error,
    meta_changed,
    run_cli,
    save_tiny_checkpoint,
    smooth_field,
    tiny_colorizer,
)


def test_saturation_scales_chroma_around_the_mean_colour() -> None:
    col = meta_changed(tiny_colorizer(chroma_gain=1.0), mean_ab=(-3.0, 6.0))
    lum = torch.rand(2, 1, 32, 48) * 2 - 1
    raw = col.predict_batch(lum)
    center = torch.tensor([-3.0, 6.0]).view(1, 2, 1, 1) / 110.0
    half = col.calibrated(saturation=0.5)
    torch.testing.assert_close(half.predict_batch(lum), center + 0.5 * (raw - center))
    none = col.calibrated(saturation=0.0)
    torch.testing.assert_close(none.predict_batch(lum), center.expand_as(raw))
    assert none.calibrated(saturation=None).saturation == 0.0  # None keeps the value
    assert col.saturation == 1.0  # calibrated() makes a new Colorizer


def test_saturation_zero_is_the_mean_chroma_colorizer() -> None:
    col = meta_changed(tiny_colorizer(chroma_gain=1.0), mean_ab=(-3.0, 6.0))
    col = col.calibrated(saturation=0.0)
    gray = smooth_field(40, 40)
    truth = np.repeat(gray[..., None], 3, -1)
    np.testing.assert_allclose(
        col.colorize(gray), mean_chroma_reference(truth, (-3.0, 6.0)), atol=2e-3
    )


@pytest.mark.parametrize("bad", [-0.1, 4.5])
def test_saturation_out_of_range_is_a_user_error(bad: float) -> None:
    with pytest.raises(UserError, match="--saturation"):
        tiny_colorizer().calibrated(saturation=bad)


def test_rgb_models_have_no_chroma_to_scale() -> None:
    col = tiny_colorizer(color_space="rgb")
    with pytest.raises(UserError, match="lab or yuv"):
        col.calibrated(saturation=0.8)


def test_export_records_saturation_for_torch_and_onnx(tmp_path: Path, capsys) -> None:
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pt", chroma_gain=1.0)
    fp16, onnx = tmp_path / "muted.pt", tmp_path / "muted.onnx"
    for out, fmt in ((fp16, "torch-fp16"), (onnx, "onnx")):
        args = ["export", "--checkpoint", ckpt, "-o", out, "--format", fmt, "--saturation", "0.6"]
        code, _, _ = run_cli(args, capsys)
        assert code == 0
    assert load_colorizer(fp16, "cpu").saturation == 0.6
    onnx_col = load_backend(onnx, "auto", threads=1)
    assert isinstance(onnx_col.runner, OnnxRunner) and onnx_col.saturation == 0.6
    reference = load_colorizer(ckpt, "cpu").calibrated(saturation=0.6)
    lum = torch.rand(1, 1, 32, 32) * 2 - 1
    diff = (onnx_col.predict_batch(lum) - reference.predict_batch(lum)).abs().max().item()
    assert diff < 1e-4


def test_evaluate_at_saturation_zero_scores_like_mean_chroma(trained, tmp_path, capsys):
    data, ckpt = trained
    out = tmp_path / "eval.json"
    args = ["evaluate", "--checkpoint", ckpt, "--data", data, "--out", out, "--saturation", "0"]
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0 and "saturation 0" in stdout
    body = json.loads(out.read_text())
    assert body["saturation"] == 0.0
    model, mean = body["rows"]["model"], body["rows"]["mean_chroma"]
    assert model["ciede2000"] == pytest.approx(mean["ciede2000"], abs=0.05)
    args = ["evaluate", "--checkpoint", ckpt, "--data", data, "--saturation", "9"]
    code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, "--saturation 9")


def test_max_chroma_caps_the_chroma_and_keeps_the_hue() -> None:
    col = tiny_colorizer(chroma_gain=3.0)  # strong colours, some above the cap
    lum = torch.rand(2, 1, 32, 48) * 2 - 1
    raw = col.predict_batch(lum)
    capped = col.calibrated(max_chroma=20.0).predict_batch(lum)
    raw_c = torch.linalg.vector_norm(raw, dim=1) * 110
    cap_c = torch.linalg.vector_norm(capped, dim=1) * 110
    assert (raw_c > 20.5).any()
    assert cap_c.max() <= 20.0 + 1e-3
    below = raw_c < 20.0
    torch.testing.assert_close(capped.permute(0, 2, 3, 1)[below], raw.permute(0, 2, 3, 1)[below])
    above = raw_c > 20.5
    cosine = torch.nn.functional.cosine_similarity(capped, raw, dim=1)[above]
    assert cosine.min() > 0.9999  # same hue angle


@pytest.mark.parametrize(
    ("space", "value", "needle"), [("yuv", 40.0, "Lab model"), ("lab", 0.0, "(0, 110]")]
)
def test_max_chroma_user_errors(space: str, value: float, needle: str) -> None:
    with pytest.raises(UserError, match=needle.replace("(", r"\(").replace("]", r"\]")):
        tiny_colorizer(color_space=space).calibrated(max_chroma=value)


def test_export_records_max_chroma(tmp_path: Path, capsys) -> None:
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pt", chroma_gain=1.0)
    out = tmp_path / "capped.pt"
    args = ["export", "--checkpoint", ckpt, "-o", out, "--format", "torch-fp16"]
    code, _, _ = run_cli([*args, "--max-chroma", "44"], capsys)
    assert code == 0
    assert load_colorizer(out, "cpu").max_chroma == 44.0
    code, _, err = run_cli([*args, "--force", "--max-chroma", "500"], capsys)
    assert_user_error(code, err, "--max-chroma 500")
