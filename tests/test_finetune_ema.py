"""Weight averaging (train.ema_decay) and fine-tuning (train.init_from / --init-from)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from rscolor.errors import UserError
from rscolor.modelfile import load_checkpoint
from rscolor.training.ema import make_ema
from rscolor.training.trainer import Trainer

from .helpers import make_scene_tree, run_cli, tiny_config


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return make_scene_tree(tmp_path_factory.mktemp("ema") / "scenes")


@pytest.fixture(scope="module")
def ema_run(scenes: Path, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("ema") / "run"
    cfg = tiny_config(train__epochs=1, train__ema_decay=0.5)
    Trainer(cfg, run, scenes, progress=False).fit()
    return run


def test_ema_follows_the_model_with_a_lag_and_copies_integer_buffers() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    ema = make_ema(model, decay=0.9)
    start = model[0].weight.detach().clone()
    for _ in range(20):
        with torch.no_grad():
            model[0].weight.add_(1.0)
        model(torch.randn(2, 1, 6, 6))  # train mode: BatchNorm statistics move
        ema.update_parameters(model)
    averaged = ema.module[0].weight
    assert torch.all(averaged > start + 10) and torch.all(averaged < model[0].weight - 1)
    assert int(ema.module[1].num_batches_tracked) == int(model[1].num_batches_tracked) == 20
    assert not any(p.requires_grad for p in ema.parameters())


def test_best_pt_holds_the_averaged_weights_not_the_raw_ones(ema_run: Path) -> None:
    last = load_checkpoint(ema_run / "last.pt")
    best = load_checkpoint(ema_run / "best.pt")
    averaged = {k.removeprefix("module."): v for k, v in last["ema"].items()}
    for name, tensor in best["generator"].items():
        assert torch.equal(tensor, averaged[name]), name
    raw = last["generator"]
    assert any(
        not torch.equal(raw[k], best["generator"][k]) for k in raw if raw[k].is_floating_point()
    )
    assert "EMA (decay 0.5)" in (ema_run / "train.log").read_text()


def test_init_from_loads_the_generator_and_discriminator(ema_run: Path, scenes, tmp_path) -> None:
    cfg = tiny_config(train__epochs=1, train__init_from=str(ema_run / "last.pt"))
    trainer = Trainer(cfg, tmp_path / "ft", scenes, progress=False)
    trainer.build()
    trainer.init_weights(str(ema_run / "last.pt"))
    source = load_checkpoint(ema_run / "last.pt")
    for name, tensor in trainer.step.g_raw.state_dict().items():
        assert torch.equal(tensor, source["generator"][name]), name
    for name, tensor in trainer.step.d_raw.state_dict().items():
        assert torch.equal(tensor, source["discriminator"][name]), name


def test_init_from_a_model_of_another_architecture_is_a_user_error(ema_run, scenes, tmp_path):
    cfg = tiny_config(train__epochs=1, generator={"ngf": 8, "depth": 4, "lcfe_dk": 4})
    trainer = Trainer(cfg, tmp_path / "ft", scenes, progress=False)
    trainer.build()
    with pytest.raises(UserError, match="different generator"):
        trainer.init_weights(str(ema_run / "best.pt"))


def test_cli_init_from_fine_tunes_and_records_it(ema_run, scenes, tmp_path, capsys) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(tiny_config(train__epochs=1).to_dict()))
    out = tmp_path / "ft"
    args = ["train", "--config", config, "--data", scenes, "--out", out, "--quiet"]
    code, _, _ = run_cli([*args, "--init-from", ema_run / "best.pt"], capsys)
    assert code == 0
    log = (out / "train.log").read_text()
    assert f"initialised the generator from {ema_run / 'best.pt'}" in log
    assert load_checkpoint(out / "last.pt")["config"]["train"]["init_from"] == str(
        ema_run / "best.pt"
    )
    code, _, err = run_cli(
        [*args[:-3], "--out", tmp_path / "ft2", "--init-from", tmp_path / "none.pt"], capsys
    )
    assert code == 2 and "checkpoint not found" in err and "Traceback" not in err
