"""The NaN/inf guard: an injected NaN stops training with a clear message, and last.pt
stays the last good state (the 2-process case is in test_distributed.py)."""

from __future__ import annotations

import pytest
import torch
import yaml

from rscolor.cli.main import main
from rscolor.training import step as step_mod
from rscolor.training import trainer as trainer_mod
from rscolor.training.trainer import Trainer, TrainingDiverged

from .helpers import tiny_config

NAN_STEP = 3  # 0-based: the 4th step, in the second epoch (2 steps per epoch)


def guarded_config(**train):
    return tiny_config(
        train={
            "epochs": 3,
            "batch_size": 4,
            "max_steps_per_epoch": 2,
            "threads": 1,
            "deterministic": True,
            "checkpoint_every_steps": 1,
            **train,
        }
    )


@pytest.fixture
def nan_loss_at(monkeypatch):
    """Make the L1 loss NaN from the given step on (counted by calls: one per step)."""

    def arm(step: int) -> None:
        calls = {"n": 0}
        real = step_mod.l1_loss

        def l1(predictions, target, *args):
            loss = real(predictions, target, *args)
            calls["n"] += 1
            return loss * float("nan") if calls["n"] > step else loss

        monkeypatch.setattr(step_mod, "l1_loss", l1)

    return arm


@pytest.fixture
def saves(monkeypatch):
    """Record the `step` of every last.pt written."""
    written: list[int] = []
    real = trainer_mod.save_checkpoint

    def save(path, payload):
        real(path, payload)
        if path.name == "last.pt":
            written.append(payload["step"])

    monkeypatch.setattr(trainer_mod, "save_checkpoint", save)
    return written


def assert_finite(ckpt):
    for name in ("generator", "discriminator"):
        for key, value in ckpt[name].items():
            if value.is_floating_point():
                assert torch.isfinite(value).all(), f"{name}.{key}"


def test_nan_loss_stops_and_keeps_last_good_checkpoint(scene_tree, tmp_path, nan_loss_at, saves):
    run = tmp_path / "run"
    nan_loss_at(NAN_STEP)
    with pytest.raises(TrainingDiverged, match=r"the loss became NaN/inf at epoch 2, step 4"):
        Trainer(guarded_config(), run, scene_tree, progress=False).fit()
    assert saves == [1, 2, 3]  # nothing written at or after the bad step
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["step"] == NAN_STEP
    assert_finite(ckpt)


def test_nan_before_any_checkpoint_says_so(scene_tree, tmp_path, nan_loss_at):
    nan_loss_at(0)
    with pytest.raises(TrainingDiverged, match="no checkpoint was written yet"):
        Trainer(guarded_config(), tmp_path / "run", scene_tree, progress=False).fit()
    assert not (tmp_path / "run" / "last.pt").exists()


def test_nan_weights_are_never_saved(scene_tree, tmp_path, monkeypatch, saves):
    """A NaN that reaches the weights with a finite loss (e.g. through a gradient) is
    caught when the checkpoint would be written."""
    real_step = Trainer.train_step

    def poisons(self, lum, target, labels=None):
        logs = real_step(self, lum, target, labels)
        if self.state.global_step == NAN_STEP - 1:  # the step about to finish as step NAN_STEP
            with torch.no_grad():
                next(self.step.g_raw.parameters()).fill_(float("nan"))
        return logs

    monkeypatch.setattr(Trainer, "train_step", poisons)
    with pytest.raises(TrainingDiverged, match="the weights became NaN/inf"):
        Trainer(guarded_config(), tmp_path / "run", scene_tree, progress=False).fit()
    assert saves == [1, 2]
    assert_finite(torch.load(tmp_path / "run" / "last.pt", weights_only=True))


def test_cli_exits_3_with_one_line(scene_tree, tmp_path, nan_loss_at, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(guarded_config().to_dict()))
    nan_loss_at(NAN_STEP)
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "train",
                "--config",
                str(config),
                "--data",
                str(scene_tree),
                "--out",
                str(tmp_path / "run"),
                "--quiet",
            ]
        )
    assert exc.value.code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rscolor: training stopped: the loss became NaN")
    assert "last good checkpoint" in err[0]
