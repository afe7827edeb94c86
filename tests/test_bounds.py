"""Issue 23, item 8: every number has an upper bound (threads at most the cores, sizes
within what memory allows, depth within the crop), a non-UTF-8 config and a device this
torch cannot use are one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from .helpers import all_sections, assert_user_error, run_cli

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cpu" / "jsdcgan.yaml"


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("data.crop_size=100000", "data.crop_size: Input should be less than or equal to 4096"),
        ("generator.ngf=1000000", "generator.ngf: Input should be less than or equal to 256"),
        ("generator.depth=40", "generator.depth: Input should be less than or equal to 12"),
        ("generator.depth=9", "data.crop_size 128 < 2**generator.depth"),
        ("train.threads=100000", "train.threads: Input should be less than or equal to 1024"),
        (f"train.threads={(os.cpu_count() or 1) + 1}", "(this machine's CPU cores)"),
        ("train.epochs=1000000000000", "train.epochs: Input should be less than or equal to"),
    ],
)
def test_huge_config_numbers_are_one_line_errors(tmp_path, capsys, setting, needle) -> None:
    run = tmp_path / "run"
    args = ["train", "-c", CONFIG, "--data", tmp_path, "--out", run, "--set", setting]
    code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, needle)
    assert not run.exists()


def test_a_non_utf8_config_is_a_one_line_error(tmp_path, capsys) -> None:
    config = tmp_path / "binary.yaml"
    config.write_bytes(b"\xff\xfe\x00train: {epochs: 1}\n\x80\x81")
    code, _, err = run_cli(["train", "-c", config, "--data", tmp_path], capsys)
    assert_user_error(code, err, "not UTF-8 text")


@pytest.mark.parametrize("threads", ["10000", "100000", "0"])
def test_colorize_threads_beyond_the_cores_are_refused(tmp_path, capsys, threads) -> None:
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", image, "-o", out, "--threads", threads], capsys)
    assert_user_error(code, err, f"--threads {threads}: expected 1 to {os.cpu_count()}")
    assert not out.exists()


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this torch can use MPS")
def test_mps_without_mps_is_a_one_line_error(tmp_path, capsys) -> None:
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    code, _, err = run_cli(["colorize", image, "-o", tmp_path / "o", "--device", "mps"], capsys)
    assert_user_error(code, err, "MPS (Apple GPU) was asked for")
    code, _, err = run_cli(["train", "-c", CONFIG, "--data", tmp_path, "--out", tmp_path / "r",
                            "--set", "train.device=mps"], capsys)  # fmt: skip
    assert code == 2 and "MPS (Apple GPU) was asked for" in err and "Traceback" not in err


def test_every_numeric_config_field_has_an_upper_bound() -> None:
    """A new int/float field without le/lt fails here (tuples: their item type's)."""
    unbounded = []
    for section, model in all_sections():
        for name, field in model.model_fields.items():
            text = str(field.annotation)
            if not any(t in text for t in ("int", "float")) or "tuple" in text or "Literal" in text:
                continue
            if not any(hasattr(m, a) for m in field_limits(field) for a in ("le", "lt")):
                unbounded.append(f"{section}.{name}")
    assert unbounded == []


def field_limits(field) -> list:
    """A pydantic field's constraint objects, with those of an alias in ``Big | None``."""
    metadata = [*field.metadata]
    for arg in getattr(field.annotation, "__args__", ()):
        metadata += getattr(arg, "__metadata__", ())
    return [m for item in metadata for m in getattr(item, "metadata", [item])]
