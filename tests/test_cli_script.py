"""The installed console script: usage errors are usage text plus one error line, exit 2,
never a traceback (whatever typer/click versions are installed); models load safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rscolor.modelfile import FORMAT

from .helpers import assert_one_line_error, run_rscolor


def assert_usage_error(proc, needle: str) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, (proc.returncode, text)
    assert "Traceback" not in text
    assert "Usage: rscolor" in text
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and needle in errors[0], proc.stderr


def test_bare_rscolor_shows_help_and_exits_2() -> None:
    proc = run_rscolor()
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "colorize" in proc.stdout + proc.stderr and "Usage" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["colorize", "x.png"], "Missing option '--out-dir'"),
        (["train"], "Missing option '--config'"),
        (["colorize", "x.png", "-o", "out", "--bogus"], "No such option: --bogus"),
        (["colorise"], "No such command"),
        (["colorize", "x.png", "-o", "out", "--tile", "abc"], "Invalid value for '--tile'"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], needle: str) -> None:
    assert_usage_error(run_rscolor(*args), needle)


def test_help_exits_0() -> None:
    proc = run_rscolor("colorize", "--help")
    assert proc.returncode == 0 and "--out-dir" in proc.stdout


class _CreatesFile:
    """Unpickling this with weights_only=True would create `path`."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "config": _CreatesFile(marker)}, evil)
    image = tmp_path / "in.png"
    Image.fromarray(np.full((16, 16), 90, np.uint8)).save(image)
    for args in (
        ["colorize", image, "-o", tmp_path / "out", "--checkpoint", evil],
        ["export", "-o", tmp_path / "m.onnx", "--checkpoint", evil],
    ):
        proc = run_rscolor(*args)
        assert_one_line_error(proc, "refused to load")
        assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_garbage_model_files_give_one_line_errors(tmp_path: Path) -> None:
    image = tmp_path / "in.png"
    Image.fromarray(np.full((16, 16), 90, np.uint8)).save(image)
    for name, needle in (("junk.onnx", "cannot read ONNX model"), ("junk.pt", "cannot read")):
        junk = tmp_path / name
        junk.write_bytes(b"\x00not a model\xff" * 10)
        proc = run_rscolor("colorize", image, "-o", tmp_path / "out", "--checkpoint", junk)
        assert_one_line_error(proc, needle)


def test_shipped_model_loads_with_weights_only() -> None:
    from rscolor.inference.colorizer import shipped_model_path

    ckpt = torch.load(shipped_model_path(), weights_only=True)  # no allow-list needed
    assert ckpt["format"] == FORMAT and ckpt["generator"]
