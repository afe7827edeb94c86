"""Issue 23, items 2 and 3: one writer per output folder and per run folder (a second one
stops with one line naming the holder, nothing overwritten), and a finished run's best.pt
is not replaced without --force."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from .helpers import (
    assert_user_error,
    make_scene_tree,
    rscolor_command,
    run_cli,
    run_rscolor,
    save_tiny_checkpoint,
)

TINY_YAML = {
    "method": "tiny",
    "data": {"crop_size": 32, "val_max_images": 2},
    "generator": {"ngf": 4, "depth": 4, "lcfe_dk": 4, "dropout_layers": 1},
    "discriminator": {"ndf": 4, "n_layers": 2},
    "train": {"epochs": 1, "batch_size": 4, "max_steps_per_epoch": 1, "threads": 1},
}


def _pictures(folder: Path, shade: int, n: int = 3) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((24, 24), shade + i, np.uint8)).save(folder / f"x{i}.png")
    return folder


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.glob("*.png")}


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_two_concurrent_colorize_runs_one_works_the_other_names_the_holder(tmp_path) -> None:
    model = save_tiny_checkpoint(tmp_path / "tiny.pt")
    a, b = _pictures(tmp_path / "a", 40), _pictures(tmp_path / "b", 160)
    out = tmp_path / "out"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [*rscolor_command(), "colorize", "--checkpoint", str(model), "-o", str(out), "--quiet"]
    first = subprocess.Popen([*cmd, str(a)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _wait_for(out / ".rscolor.lock", first)
        os.kill(first.pid, signal.SIGSTOP)  # run A is mid-run, holding the folder
        second = run_rscolor("colorize", b, "--checkpoint", model, "-o", out, "--quiet")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert lines[0].startswith(f"rscolor: error: {out} is in use by rscolor colorize")
    assert f"(pid {first.pid}," in lines[0]
    written = _digests(out)
    assert sorted(written) == ["x0.png", "x1.png", "x2.png"]
    mean = np.asarray(Image.open(out / "x0.png").convert("L"), np.float32).mean()
    assert abs(mean - 40) < 3  # run A's outputs, none of run B's
    assert not (out / ".rscolor.lock").exists()
    # Run one after the other, the second is refused by the existing outputs.
    again = run_rscolor("colorize", b, "--checkpoint", model, "-o", out, "--quiet")
    assert again.returncode == 2 and "exists (use --force" in again.stderr
    assert _digests(out) == written


def test_a_second_training_run_into_a_held_run_folder_is_refused(tmp_path, capsys) -> None:
    from rscolor.utils.lock import run_lock

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_YAML))
    data = make_scene_tree(tmp_path / "data", per_class=4, size=32)
    run = tmp_path / "runs" / "r"
    args = ["train", "-c", config, "--data", data, "--out", run, "--quiet"]
    with run_lock(run, "train -c other.yaml"):  # another process's run, mid-way
        code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, "is in use by rscolor train -c other.yaml (pid")
    assert not run.exists()
    code, _, err = run_cli(args, capsys)  # the folder free again: it trains
    assert code == 0, err
    assert (run / "best.pt").is_file() and not list(run.parent.glob(".*lock"))


def test_a_finished_runs_best_pt_is_kept_without_force(tmp_path, capsys) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_YAML))
    data = make_scene_tree(tmp_path / "data", per_class=4, size=32)
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"the finished run's model")  # its last.pt was deleted
    args = ["train", "-c", config, "--data", data, "--out", run, "--quiet"]
    for extra in ([], ["--resume"]):
        code, _, err = run_cli([*args, *extra], capsys)
        assert_user_error(code, err, "holds a finished run (best.pt, no last.pt")
        assert (run / "best.pt").read_bytes() == b"the finished run's model"
    code, _, err = run_cli([*args, "--force"], capsys)
    assert code == 0, err
    assert (run / "best.pt").read_bytes() != b"the finished run's model"
