"""Train then resume on tiny generated data, through the library and the CLI."""

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from rscolor.cli.main import main
from rscolor.modelfile import load_checkpoint
from rscolor.training.trainer import Trainer

from .helpers import tiny_config


def write_config(path: Path, **overrides) -> Path:
    path.write_text(yaml.safe_dump(tiny_config(**overrides).to_dict()))
    return path


def test_trainer_writes_everything_a_run_needs(scene_tree: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    summary = Trainer(tiny_config(), run, scene_tree, progress=False).fit()
    assert summary.epochs == 2 and summary.best_epoch in (1, 2)
    for name in ("split.json", "config.yaml", "last.pt", "best.pt", "history.csv", "history.png"):
        assert (run / name).is_file(), name
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"l1", "adv", "d_loss", "val_ciede2000", "val_acc5"} <= set(rows[0])
    last = load_checkpoint(run / "last.pt")
    assert last["epoch"] == 2 and last["step"] == 4
    assert {"opt_g", "opt_d", "sched_g", "rng", "discriminator"} <= set(last)
    meta = load_checkpoint(run / "best.pt")["meta"]
    assert len(meta["mean_ab"]) == 2 and meta["train_size"] == 32
    assert json.loads((run / "split.json").read_text())["counts"]["train"] == 18


def test_cli_train_killed_then_resumed_finishes_the_same_run(
    scene_tree: Path, tmp_path: Path, monkeypatch
) -> None:
    config = write_config(tmp_path / "tiny.yaml")
    run = tmp_path / "run"
    args = [
        "train",
        "--config",
        str(config),
        "--data",
        str(scene_tree),
        "--out",
        str(run),
        "--quiet",
    ]
    original = Trainer.train_step
    calls = {"n": 0}

    def dies_on_third_step(self, lum, target, labels=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill during epoch 2
        return original(self, lum, target, labels)

    monkeypatch.setattr(Trainer, "train_step", dies_on_third_step)
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 130
    killed = load_checkpoint(run / "last.pt")
    assert killed["epoch"] == 1 and [r["epoch"] for r in killed["history"]] == [1]

    with pytest.raises(SystemExit) as exited:  # no silent restart over an existing run
        main(args)
    assert exited.value.code == 2

    monkeypatch.setattr(Trainer, "train_step", original)
    main([*args, "--resume"])
    done = load_checkpoint(run / "last.pt")
    assert done["epoch"] == 2 and done["step"] == 4
    assert [r["epoch"] for r in done["history"]] == [1, 2]
    assert done["history"][0] == killed["history"][0]
    assert any(
        not torch.equal(killed["generator"][k], done["generator"][k]) for k in done["generator"]
    )
