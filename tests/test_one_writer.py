"""Issue 23, items 2 and 3: one writer per output folder and per run folder (a second one
stops with one line naming the holder, nothing overwritten), and a finished run's best.pt
is not replaced without --force."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from .helpers import (
    assert_user_error,
    make_scene_tree,
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


# Run as `python -c PAUSED ARGS`: rscolor ARGS that stops itself (SIGSTOP) once it is
# mid-run: after its first output (colorize) or before its first epoch (train), its run
# folder made. Another process then tries the same folder; SIGCONT lets the first finish.
PAUSED = """
import os, signal, sys
from rscolor.cli import colorize_cmd
from rscolor.cli.main import main
from rscolor.training.trainer import Trainer

def pause_once(real, after):
    def wrapper(*args, **kwargs):
        if not after and not wrapper.paused:
            wrapper.paused = True
            os.kill(os.getpid(), signal.SIGSTOP)
        result = real(*args, **kwargs)
        if after and not wrapper.paused:
            wrapper.paused = True
            os.kill(os.getpid(), signal.SIGSTOP)
        return result
    wrapper.paused = False
    return wrapper

colorize_cmd.colorize_file = pause_once(colorize_cmd.colorize_file, after=True)
Trainer.run_epoch = pause_once(Trainer.run_epoch, after=False)
main(sys.argv[1:])
"""


def _start_paused(*args: object) -> subprocess.Popen:
    """`rscolor ARGS` in a process that is stopped mid-run when this returns."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pid, status = os.waitpid(proc.pid, os.WNOHANG | os.WUNTRACED)
        if pid and os.WIFSTOPPED(status):
            return proc
        assert not pid, f"rscolor {args} ended before it was mid-run: {proc.communicate()}"
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"rscolor {args} never got mid-run")


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    os.kill(proc.pid, signal.SIGCONT)
    _, stderr = proc.communicate(timeout=300)
    return proc.returncode, stderr


def test_two_concurrent_colorize_runs_one_works_the_other_names_the_holder(tmp_path) -> None:
    """The probe's case: B's outputs are names that A, mid-run, has still to write."""
    model = save_tiny_checkpoint(tmp_path / "tiny.pt")
    a = _pictures(tmp_path / "a", 40, n=6)
    b = _pictures(tmp_path / "b", 160, n=6)
    for name in ("x0.png", "x1.png", "x2.png"):
        (b / name).unlink()  # B: x3-x5 only
    out = tmp_path / "out"
    first = _start_paused("colorize", a, "--checkpoint", model, "-o", out, "--quiet")
    try:
        assert sorted(_digests(out)) == ["x0.png"]  # A is mid-run: one output of six
        second = run_rscolor("colorize", b, "--checkpoint", model, "-o", out, "--quiet")
    finally:
        code, stderr = _finish(first)
    assert code == 0, stderr
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert second.returncode == 2 and len(lines) == 1, (second.returncode, second.stderr)
    assert lines[0].startswith(f"rscolor: error: {out} is in use by rscolor colorize")
    assert f"(pid {first.pid}," in lines[0]
    written = _digests(out)
    assert sorted(written) == [f"x{i}.png" for i in range(6)]
    for name in written:  # all six are run A's (shade 40 + i), none of run B's (160 + i)
        mean = np.asarray(Image.open(out / name).convert("L"), np.float32).mean()
        assert abs(mean - 40 - int(name[1])) < 3, (name, mean)
    assert not (out / ".rscolor.lock").exists()
    # Run one after the other, the second is refused by the existing outputs.
    again = run_rscolor("colorize", b, "--checkpoint", model, "-o", out, "--quiet")
    assert again.returncode == 2 and "exists (use --force" in again.stderr
    assert _digests(out) == written


def test_two_concurrent_training_runs_into_one_folder(tmp_path, capsys) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_YAML))
    data = make_scene_tree(tmp_path / "data", per_class=4, size=32)
    run = tmp_path / "run"
    args = ["train", "-c", config, "--data", data, "--out", run, "--quiet"]
    first = _start_paused(*args, "--set", "train.seed=3")  # mid-run: before its first epoch
    try:
        assert run.is_dir() and not (run / "best.pt").exists()
        code, _, err = run_cli([*args, "--set", "train.seed=5"], capsys)
    finally:
        first_code, stderr = _finish(first)
    assert first_code == 0, stderr
    assert_user_error(code, err, f"is in use by rscolor train (pid {first.pid},")
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["seed"] == 3
    best = torch.load(run / "best.pt", weights_only=True)
    assert best["config"]["train"]["seed"] == 3  # run A's files only
    assert not list(tmp_path.glob(".*lock"))


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
