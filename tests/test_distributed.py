"""Data-parallel training through torch's own launcher: 2 CPU processes, gloo backend.

Each test launches ``python -m torch.distributed.run --nproc_per_node 2`` on
tests/ddp_worker.py, which runs ``python -m rscolor train ...`` unchanged and, for the
test only, makes each rank dump its final state (and can make one rank's loss NaN, or
stop every rank at a step as a kill would).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from rscolor.errors import UserError
from rscolor.training.distributed import DistInfo, check_norm

from .helpers import make_scene_tree, tiny_config

WORKER = Path(__file__).with_name("ddp_worker.py")
BATCH, STEPS, EPOCHS = 4, 2, 2
TIMEOUT_S = 180


def launch(
    work: Path, scenes: Path, cfg, env: dict | None = None, resume: bool = False
) -> subprocess.CompletedProcess:
    """torchrun 2 processes of `rscolor train` into WORK/run; ranks dump into WORK/dumps."""
    config = work / "tiny.yaml"
    config.write_text(yaml.safe_dump(cfg.to_dict()))
    dumps = work / "dumps"
    dumps.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RSCOLOR_TEST_DUMP": str(dumps), **(env or {})}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(WORKER),
        "train",
        "--config",
        str(config),
        "--data",
        str(scenes),
        "--out",
        str(work / "run"),
        "--quiet",
        *(["--resume"] if resume else []),
    ]
    # A session of its own, so a hang (the bug this guards against) kills the workers too.
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"torchrun did not finish in {TIMEOUT_S} s (a rank hung)")
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def ddp_config(norm: str = "batch"):
    return tiny_config(
        generator={"ngf": 4, "depth": 4, "lcfe_dk": 4, "dropout_layers": 1, "norm": norm},
        discriminator={"ndf": 4, "n_layers": 2, "norm": norm},
        train={
            "epochs": EPOCHS,
            "batch_size": BATCH,
            "max_steps_per_epoch": STEPS,
            "threads": 1,
            "checkpoint_every_steps": 1,
            "deterministic": True,
        },
    )


def load(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def assert_states_equal(a: dict, b: dict, what: str) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{what}.{key} differs"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return make_scene_tree(tmp_path_factory.mktemp("ddp") / "scenes")


@pytest.fixture(scope="module")
def uninterrupted(scenes, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    # norm: batch is the hard case: BatchNorm running statistics are buffers, not
    # parameters, so DDP's gradient averaging alone would not keep them equal.
    work = tmp_path_factory.mktemp("full")
    return work, launch(work, scenes, ddp_config("batch"))


def test_two_process_gloo_run_ends_with_identical_models(uninterrupted):
    work, proc = uninterrupted
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = load(work / "dumps" / "rank0.pt"), load(work / "dumps" / "rank1.pt")
    assert r0["step"] == r1["step"] == EPOCHS * STEPS

    assert_states_equal(r0["generator"], r1["generator"], "generator")
    assert_states_equal(r0["discriminator"], r1["discriminator"], "discriminator")
    for p0, p1 in zip(r0["opt_g"]["state"].values(), r1["opt_g"]["state"].values(), strict=True):
        assert torch.equal(p0["exp_avg"], p1["exp_avg"])  # the same averaged gradients
    assert any("running_mean" in k for k in r0["generator"])  # BN buffers were compared
    # Training moved the running statistics away from their initial values.
    assert not all(
        torch.equal(v, torch.zeros_like(v))
        for k, v in r0["generator"].items()
        if k.endswith("running_mean")
    )

    # The sampler shards the data: in each epoch the ranks saw disjoint images.
    for epoch in range(EPOCHS):
        seen = [{i for e, i in r["seen"] if e == epoch} for r in (r0, r1)]
        assert len(seen[0]) == len(seen[1]) == STEPS * BATCH
        assert not seen[0] & seen[1]

    # Rank 0 alone wrote the files; what it saved is the model every rank holds.
    last = load(work / "run" / "last.pt")
    assert_states_equal(last["generator"], r0["generator"], "last.pt")
    assert last["world_size"] == 2 and len(last["rng"]) == 2
    log = (work / "run" / "train.log").read_text()
    assert log.count("2 process(es) on cpu x batch 4 = effective batch 8") == 1
    assert "lr 0.0002 (generator)" in log
    assert proc.stdout.count("done:") == 1


def test_two_process_kill_and_resume_equals_uninterrupted(scenes, uninterrupted, tmp_path):
    """Both ranks die after step 3 (mid-epoch 2); `--resume` ends where the uninterrupted
    run ended, on each rank (each rank restores its own RNG state from last.pt)."""
    full, _ = uninterrupted
    killed = launch(tmp_path, scenes, ddp_config("batch"), {"RSCOLOR_TEST_KILL": "3"})
    assert killed.returncode != 0
    assert load(tmp_path / "run" / "last.pt")["step"] == 3
    resumed = launch(tmp_path, scenes, ddp_config("batch"), resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for rank in (0, 1):
        a, b = load(full / "dumps" / f"rank{rank}.pt"), load(tmp_path / "dumps" / f"rank{rank}.pt")
        assert b["step"] == EPOCHS * STEPS
        assert_states_equal(a["generator"], b["generator"], f"rank {rank} generator")
        assert_states_equal(a["discriminator"], b["discriminator"], f"rank {rank} discriminator")
    assert "resumed from" in (tmp_path / "run" / "train.log").read_text()


def test_nan_on_one_rank_stops_both_and_keeps_last_checkpoint(scenes, tmp_path):
    nan_step = 3  # 0-based: second epoch, second step; last.pt is written after step 3
    nan_env = {"RSCOLOR_TEST_NAN": f"1:{nan_step}"}  # rank 1 only
    proc = launch(tmp_path, scenes, ddp_config("instance"), nan_env)
    assert proc.returncode != 0
    # Both ranks stopped at the same step: rank 0 (finite loss) learnt of rank 1's NaN.
    r0, r1 = load(tmp_path / "dumps" / "rank0.pt"), load(tmp_path / "dumps" / "rank1.pt")
    assert r0["step"] == r1["step"] == nan_step
    assert proc.stderr.count("rscolor: training stopped: the loss became NaN/inf") == 1
    assert "exitcode  : 3" in proc.stderr  # torchrun's report of the workers' status
    last = load(tmp_path / "run" / "last.pt")
    assert last["step"] == nan_step
    assert_states_equal(last["generator"], r0["generator"], "last.pt")  # not stepped since


def test_syncbatch_on_cpu_under_ddp_is_a_user_error():
    cpu = torch.device("cpu")
    with pytest.raises(UserError, match="syncbatch.* needs CUDA"):
        check_norm(["syncbatch", "batch"], DistInfo(0, 2, 0), cpu)
    check_norm(["syncbatch"], DistInfo(), cpu)  # one process: plain BatchNorm, fine
    check_norm(["instance", "batch"], DistInfo(0, 2, 0), cpu)
