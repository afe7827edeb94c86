"""Inputs are never written, and folder runs keep going past a bad file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from rscolor.inference.batch import plan_outputs

from .helpers import assert_one_line_error, run_rscolor


def gray_folder(root: Path, n: int = 3, size: int = 24) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(root / f"{i}.png")
    return root


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_output_folder_equal_to_the_input_folder_is_refused_even_with_force(tmp_path) -> None:
    data = gray_folder(tmp_path / "gray")
    before = digests(data)
    proc = run_rscolor("colorize", data, "-o", data, "--force")
    assert_one_line_error(proc, "is the input folder")
    assert digests(data) == before  # byte-identical, nothing added


def test_an_output_that_is_an_input_file_is_refused_even_with_force(tmp_path) -> None:
    data = gray_folder(tmp_path / "gray", n=1)
    link = tmp_path / "out"
    link.symlink_to(data)  # another name for the input folder
    before = digests(data)
    proc = run_rscolor("colorize", data / "0.png", "-o", link, "--force")
    assert_one_line_error(proc, "is an input")
    assert digests(data) == before


def test_an_output_folder_inside_the_input_folder_is_not_scanned(tmp_path) -> None:
    data = gray_folder(tmp_path / "gray", n=2)
    out = data / "colour"
    gray_folder(out, n=2)  # earlier outputs
    jobs = plan_outputs([data], out, force=True)
    assert sorted(src.name for src, _ in jobs) == ["0.png", "1.png"]
    assert all(out not in src.parents for src, _ in jobs)


def test_skip_existing_resumes_and_a_bad_file_does_not_stop_the_run(tmp_path) -> None:
    data = gray_folder(tmp_path / "gray", n=3)
    (data / "1.png").write_bytes(b"not a png")  # a bad file in the middle
    out = tmp_path / "out"
    proc = run_rscolor("colorize", data, "-o", out, "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "1.png" in proc.stderr and "1 of 3 image(s) failed" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "2.png"]
    assert "colorize:" not in proc.stderr  # --quiet hides the folder progress bar
    Image.fromarray(np.zeros((24, 24), np.uint8)).save(data / "1.png")  # fixed
    first = (out / "0.png").stat().st_mtime_ns
    proc = run_rscolor("colorize", data, "-o", out, "--skip-existing", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "wrote 1 image(s)" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png", "2.png"]
    assert (out / "0.png").stat().st_mtime_ns == first  # not redone


def test_skip_existing_and_force_together_are_refused(tmp_path) -> None:
    data = gray_folder(tmp_path / "gray", n=1)
    proc = run_rscolor("colorize", data, "-o", tmp_path / "o", "--force", "--skip-existing")
    assert_one_line_error(proc, "contradict")


def test_export_never_overwrites_its_checkpoint(tmp_path) -> None:
    model = tmp_path / "m.pt"
    proc = run_rscolor("export", "-o", model, "--format", "torch-fp16")
    assert proc.returncode == 0, proc.stderr
    before = model.read_bytes()
    proc = run_rscolor("export", "-o", model, "--checkpoint", model, "--force")
    assert_one_line_error(proc, "is an input")
    assert model.read_bytes() == before
