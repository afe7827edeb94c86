"""Exact resume: a run killed after step k and resumed from its last.pt ends bit-for-bit
where an uninterrupted run of the same steps ends (deterministic mode, CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from rscolor.cli.main import main
from rscolor.training.sampler import ResumableSampler
from rscolor.training.trainer import Trainer

from .helpers import make_scene_tree, tiny_config

STEPS, EPOCHS = 3, 2


class Killed(Exception):
    """Stands for a SIGKILL: the process stops between two steps, nothing else runs."""


def resume_config():
    # Dropout (p 0.5) and the discriminator are on: both consume random numbers each step.
    return tiny_config(
        train={
            "epochs": EPOCHS,
            "batch_size": 4,
            "max_steps_per_epoch": STEPS,
            "threads": 1,
            "deterministic": True,
            "checkpoint_every_steps": 1,
            "ema_decay": 0.9,  # the weight average must resume exactly too
        },
        optim={"lr_decay": "linear"},
    )


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return make_scene_tree(tmp_path_factory.mktemp("resume") / "scenes")


@pytest.fixture(scope="module")
def uninterrupted(scenes: Path, tmp_path_factory) -> dict[str, Any]:
    run = tmp_path_factory.mktemp("full") / "run"
    Trainer(resume_config(), run, scenes, progress=False).fit()
    return torch.load(run / "last.pt", weights_only=True)


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Bit-for-bit equality of nested checkpoints (tensors, arrays, dicts, lists)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def without_timing(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    timing = {"seconds", "train_images_per_s"}
    return [{k: v for k, v in row.items() if k not in timing} for row in history]


@pytest.mark.parametrize("kill_after", [2, 3, 4], ids=["mid-epoch-1", "epoch-end", "mid-epoch-2"])
def test_kill_and_resume_equals_uninterrupted(
    scenes, uninterrupted, tmp_path, monkeypatch, kill_after
):
    run = tmp_path / "run"
    real_step = Trainer.train_step

    def dies(self, lum, target, labels=None):
        if self.state.global_step == kill_after:
            raise Killed
        return real_step(self, lum, target, labels)

    monkeypatch.setattr(Trainer, "train_step", dies)
    with pytest.raises(Killed):
        Trainer(resume_config(), run, scenes, progress=False).fit()
    cut = torch.load(run / "last.pt", weights_only=True)
    # The checkpoint resume will use is the one written right after step `kill_after`.
    assert cut["step"] == kill_after
    assert (cut["epoch"], cut["step_in_epoch"]) == divmod(kill_after, STEPS)

    monkeypatch.setattr(Trainer, "train_step", real_step)
    Trainer(resume_config(), run, scenes, progress=False).fit(resume=True)
    done = torch.load(run / "last.pt", weights_only=True)

    assert done["step"] == uninterrupted["step"] == EPOCHS * STEPS
    keys = ("generator", "discriminator", "ema", "opt_g", "opt_d", "sched_g", "sched_d", "rng")
    assert done["ema"] is not None
    for key in keys:
        assert_same(done[key], uninterrupted[key], key)
    assert_same(without_timing(done["history"]), without_timing(uninterrupted["history"]))
    assert done["best_score"] == uninterrupted["best_score"]
    assert done["meta"]["mean_ab"] == uninterrupted["meta"]["mean_ab"]


def test_resume_keeps_the_runs_config_but_takes_runtime_fields(scenes, tmp_path):
    run = tmp_path / "run"
    cfg = resume_config()
    one_epoch = {**cfg.train.model_dump(), "epochs": 1}
    Trainer(tiny_config(train=one_epoch), run, scenes, progress=False).fit()
    changed = tiny_config(train={**one_epoch, "threads": 2, "seed": 5}, optim={"lr": 0.5})
    trainer = Trainer(changed, run, scenes, progress=False)
    trainer.fit(resume=True)
    assert trainer.cfg.optim.lr == cfg.optim.lr  # from last.pt
    assert trainer.cfg.train.seed == 0
    assert trainer.cfg.train.threads == 2  # runtime field: from the command line
    log = (run / "train.log").read_text()
    assert "ignored changes to optim.lr, train.seed" in log


def tiny_yaml(path: Path) -> Path:
    raw = resume_config().to_dict()
    raw["train"]["epochs"] = 1
    path.write_text(yaml.safe_dump(raw))
    return path


def test_cli_refuses_to_overwrite_a_run_and_resumes_with_flag(scenes, tmp_path, capsys):
    config = tiny_yaml(tmp_path / "tiny.yaml")
    run = tmp_path / "run"
    args = ["train", "--config", str(config), "--data", str(scenes), "--out", str(run), "--quiet"]
    main(args)
    first = (run / "last.pt").read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert "add --resume" in capsys.readouterr().err
    assert (run / "last.pt").read_bytes() == first
    # --resume with --set extending nothing: the run is complete, so it stops at once.
    main([*args, "--resume"])
    assert torch.load(run / "last.pt", weights_only=True)["step"] == STEPS


def test_cli_set_overrides_config_fields(scenes, tmp_path):
    config = tiny_yaml(tmp_path / "tiny.yaml")
    run = tmp_path / "run"
    main(
        [
            "train",
            "--config",
            str(config),
            "--data",
            str(scenes),
            "--out",
            str(run),
            "--quiet",
            "--set",
            "train.max_steps_per_epoch=1",
            "--set",
            "optim.lr=1e-3",
        ]
    )
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["max_steps_per_epoch"] == 1 and saved["optim"]["lr"] == 1e-3
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 1


@pytest.mark.parametrize("bad", ["train.epochs", "=3", "train..epochs=1", "train.epochs=[1"])
def test_cli_set_rejects_malformed_items(tmp_path, capsys, bad):
    config = tiny_yaml(tmp_path / "tiny.yaml")
    with pytest.raises(SystemExit) as exc:
        main(["train", "--config", str(config), "--data", str(tmp_path), "--set", bad])
    assert exc.value.code == 2
    assert "--set" in capsys.readouterr().err


def test_sampler_resumes_mid_epoch_and_shards_disjointly():
    full = list(ResumableSampler(30, 4, seed=3, rank=0, world=1))
    sampler = ResumableSampler(30, 4, seed=3, rank=0, world=1)
    sampler.set_epoch(0, start_batch=2)
    assert list(sampler) == full[8:]
    shards = []
    for rank in range(2):
        s = ResumableSampler(30, 4, seed=3, rank=rank, world=2)
        s.set_epoch(1)
        shards.append([i for _, i in s])
    assert len(shards[0]) == len(shards[1]) == 12  # 15 per rank, whole batches only
    assert not set(shards[0]) & set(shards[1])
