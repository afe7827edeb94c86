"""evaluate and colorize through the CLI, and every user mistake as a one-line error."""

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from rscolor.color import rgb_to_lab
from rscolor.modelfile import load_checkpoint, save_checkpoint

from .helpers import assert_user_error, run_cli


def test_evaluate_prints_table_and_writes_json(trained, tmp_path: Path, capsys) -> None:
    data, ckpt = trained
    out = tmp_path / "eval.json"
    code, stdout, _ = run_cli(
        ["evaluate", "--checkpoint", ckpt, "--data", data, "--out", out], capsys
    )
    assert code == 0
    body = json.loads(out.read_text())
    assert set(body["rows"]) == {"model", "gray", "mean_chroma"}
    for row in body["rows"].values():
        assert {"acc2", "acc5", "psnr", "ssim", "ciede2000", "colorfulness"} <= set(row)
        assert row["images"] == 6  # the test split of 30 images
    assert "mean_chroma" in stdout and "ciede2000" in stdout
    assert set(body["per_class_ciede2000"]["model"]) == {"forest", "beach", "pond"}


def test_evaluate_at_a_working_scale_keeps_metrics_at_full_size(trained, tmp_path, capsys):
    data, ckpt = trained
    outs = {}
    for scale in ("1", "0.5"):
        out = tmp_path / f"eval-{scale}.json"
        args = ["evaluate", "--checkpoint", ckpt, "--data", data, "--out", out, "--scale", scale]
        code, stdout, _ = run_cli(args, capsys)
        assert code == 0
        outs[scale] = json.loads(out.read_text())
    assert outs["0.5"]["scale"] == 0.5 and "model run at scale 0.5" in stdout
    half, full = outs["0.5"]["rows"], outs["1"]["rows"]
    # the references do not depend on the scale; the model's output does
    assert half["mean_chroma"] == full["mean_chroma"]
    assert half["model"]["ciede2000"] != full["model"]["ciede2000"]
    args = ["evaluate", "--checkpoint", ckpt, "--data", data, "--scale", "0"]
    code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, "--scale 0")


def test_evaluate_split_all_uses_every_image(trained, tmp_path: Path, capsys) -> None:
    data, ckpt = trained
    out = tmp_path / "all.json"
    code, _, _ = run_cli(
        ["evaluate", "--checkpoint", ckpt, "--data", data, "--split", "all", "--out", out], capsys
    )
    assert code == 0 and json.loads(out.read_text())["rows"]["model"]["images"] == 30


def test_colorize_folder_keeps_relative_paths_and_luminance(
    trained, tmp_path: Path, capsys
) -> None:
    data, ckpt = trained
    out = tmp_path / "out"
    code, _, _ = run_cli(["colorize", data, "-o", out, "--checkpoint", ckpt], capsys)
    assert code == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(written) == 30 and "forest/forest_000.png" in written
    src = np.asarray(Image.open(data / "forest" / "forest_000.png").convert("L"), np.float32)
    got = np.asarray(Image.open(out / "forest" / "forest_000.png").convert("RGB"))
    assert got.shape == src.shape + (3,)
    # The luminance is the input's: a colour input is reduced to its CIE lightness, which
    # the output keeps, up to 8-bit rounding and the few out-of-gamut pixels RGB clipping
    # moves.
    colour_in = np.asarray(Image.open(data / "forest" / "forest_000.png").convert("RGB"))
    expected = rgb_to_lab(colour_in.astype(np.float32) / 255.0)[..., 0]
    lightness = rgb_to_lab(got.astype(np.float32) / 255.0)[..., 0]
    assert np.median(np.abs(lightness - expected)) < 0.5
    assert not list(out.rglob("*.tmp*"))


def test_colorize_gray_single_file(trained, tmp_path: Path, capsys) -> None:
    _, ckpt = trained
    gray = tmp_path / "pan.png"
    Image.fromarray(np.tile(np.arange(0, 250, 5, dtype=np.uint8), (20, 1))).save(gray)
    code, _, _ = run_cli(["colorize", gray, "-o", tmp_path / "o", "--checkpoint", ckpt], capsys)
    assert code == 0
    assert Image.open(tmp_path / "o" / "pan.png").size == (50, 20)


def test_existing_output_needs_force(trained, tmp_path: Path, capsys) -> None:
    data, ckpt = trained
    src = data / "pond" / "pond_001.png"
    out = tmp_path / "o"
    out.mkdir()
    (out / "pond_001.png").write_bytes(b"keep me")
    code, _, err = run_cli(["colorize", src, "-o", out, "--checkpoint", ckpt], capsys)
    assert_user_error(code, err, "--force")
    assert (out / "pond_001.png").read_bytes() == b"keep me"
    code, _, _ = run_cli(["colorize", src, "-o", out, "--checkpoint", ckpt, "--force"], capsys)
    assert code == 0 and (out / "pond_001.png").read_bytes() != b"keep me"
    json_out = tmp_path / "e.json"
    json_out.write_text("{}")
    code, _, err = run_cli(
        ["evaluate", "--checkpoint", ckpt, "--data", data, "--out", json_out], capsys
    )
    assert_user_error(code, err, "--force")
    assert json_out.read_text() == "{}"


def test_bad_inputs_are_one_line_errors(trained, tmp_path: Path, capsys) -> None:
    data, ckpt = trained
    out = tmp_path / "o"
    cases = []
    cases.append(
        (["colorize", tmp_path / "missing.png", "-o", out, "--checkpoint", ckpt], "not found")
    )
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    cases.append((["colorize", text, "-o", out, "--checkpoint", ckpt], "not an image"))
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    cases.append((["colorize", corrupt, "-o", out, "--checkpoint", ckpt], "cannot read image"))
    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append((["evaluate", "--checkpoint", ckpt, "--data", empty], "no images"))
    cases.append((["evaluate", "--checkpoint", ckpt, "--data", tmp_path / "nodata"], "not found"))
    cases.append(
        (["colorize", text, "-o", out, "--checkpoint", tmp_path / "none.pt"], "not an image")
    )
    cases.append((["evaluate", "--checkpoint", tmp_path / "none.pt", "--data", data], "not found"))
    for args, needle in cases:
        code, _, err = run_cli(args, capsys)
        assert_user_error(code, err, needle)
    assert not out.exists() or not any(out.rglob("*"))


def test_checkpoint_of_another_architecture(trained, tmp_path: Path, capsys) -> None:
    data, ckpt = trained
    body = load_checkpoint(ckpt)
    body["config"]["generator"]["ngf"] = 8  # weights are for ngf 4
    wrong = tmp_path / "wrong.pt"
    save_checkpoint(wrong, {k: v for k, v in body.items() if k not in ("format", "version")})
    code, _, err = run_cli(["evaluate", "--checkpoint", wrong, "--data", data], capsys)
    assert_user_error(code, err, "do not match")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    code, _, err = run_cli(
        ["colorize", data, "-o", tmp_path / "o", "--checkpoint", foreign], capsys
    )
    assert_user_error(code, err, "not an rscolor checkpoint")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip")
    code, _, err = run_cli(
        ["colorize", data, "-o", tmp_path / "o", "--checkpoint", garbage], capsys
    )
    assert_user_error(code, err, "cannot read checkpoint")
    assert not (tmp_path / "o").exists()


def test_help_reads_well(capsys) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for command in ("train", "evaluate", "colorize", "export", "benchmark", "study"):
        assert command in out


def test_export_torch_fp16_is_smaller_and_colorizes_alike(trained, tmp_path: Path, capsys) -> None:
    import numpy as np

    from rscolor.inference import load_colorizer

    _, ckpt = trained
    out = tmp_path / "small.pt"
    code, stdout, _ = run_cli(
        ["export", "--checkpoint", ckpt, "--format", "torch-fp16", "-o", out], capsys
    )
    assert code == 0 and "fp16" in stdout
    assert out.stat().st_size < ckpt.stat().st_size
    gray = np.linspace(0, 1, 48 * 48, dtype=np.float32).reshape(48, 48)
    full, half = (
        load_colorizer(ckpt, "cpu").colorize(gray),
        load_colorizer(out, "cpu").colorize(gray),
    )
    assert np.abs(full - half).max() < 0.02
    code, _, err = run_cli(
        ["export", "--checkpoint", ckpt, "--format", "torch-fp16", "-o", out], capsys
    )
    assert_user_error(code, err, "--force")
