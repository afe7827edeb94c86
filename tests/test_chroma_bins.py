"""The 'bins' head (models/chroma_bins.py): grid, annealed mean, soft targets, its loss,
and fine-tuning from a model with a regression head."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rscolor.errors import UserError
from rscolor.inference.colorizer import load_colorizer
from rscolor.models.chroma_bins import ChromaBins, ab_grid, set_temperature, soft_targets
from rscolor.training.losses import bins_loss
from rscolor.training.step import GanStep
from rscolor.training.trainer import Trainer

from .helpers import assert_user_error, load_script, run_cli, save_tiny_checkpoint, tiny_config


def test_grid_is_the_points_of_the_disc() -> None:
    grid = ab_grid(10.0, 60.0)
    assert grid.shape == (113, 2)  # lattice points with i^2 + j^2 <= 36
    assert torch.linalg.vector_norm(grid, dim=1).max() == pytest.approx(60.0)
    assert [0.0, 0.0] in grid.tolist() and [60.0, 0.0] in grid.tolist()
    assert ab_grid(20.0, 20.0).shape == (5, 2)


def test_annealed_mean_moves_from_the_mean_to_the_likeliest_bin() -> None:
    head = ChromaBins(1, 110.0, 10.0, 10.0, 1.0)  # 5 bins: origin and 4 at chroma 10
    scores = torch.full((1, 5, 1, 1), -30.0)
    lab = (head.centres * 110).round().tolist()
    likeliest, opposite = lab.index([10.0, 0.0]), lab.index([-10.0, 0.0])
    scores[0, likeliest], scores[0, opposite] = 1.0, 0.0
    with torch.no_grad():
        head.conv.weight.zero_()
        head.conv.bias.copy_(scores.flatten())
        x = torch.zeros(1, 1, 1, 1)
        mean = head(x)[0, 0, 0, 0].item() * 110
        set_temperature(head, 0.1)
        sharp = head(x)[0, 0, 0, 0].item() * 110
    e = torch.e
    assert mean == pytest.approx(10 * (e - 1) / (e + 1), rel=1e-4)  # softmax mean of +-10
    assert 9.9 < sharp <= 10.0


def test_from_regression_reproduces_the_regression_output() -> None:
    torch.manual_seed(0)
    regression = torch.nn.Conv2d(3, 2, 3, 1, 1)
    with torch.no_grad():
        regression.weight.mul_(0.1)
    head = ChromaBins(3, 110.0, 10.0, 60.0, 1.0)
    head.from_regression(regression.weight, regression.bias)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected, got = regression(torch.relu(x)), head(x)
    assert expected.abs().max() * 110 < 40  # inside the grid, where the mean is unbiased
    assert (expected - got).abs().max() * 110 < 0.05


def test_soft_targets_peak_at_the_nearest_bin_and_sum_to_one() -> None:
    centres = ab_grid(10.0, 30.0) / 110
    target = torch.tensor([[12.0, -19.0]]).reshape(1, 2, 1, 1) / 110
    soft = soft_targets(target, centres, 5 / 110)
    assert soft.sum(1).item() == pytest.approx(1.0)
    assert centres[soft[0, :, 0, 0].argmax()].mul(110).round().tolist() == [10.0, -20.0]


def test_bins_loss_is_lowest_for_scores_at_the_truth() -> None:
    head = ChromaBins(1, 110.0, 10.0, 30.0, 1.0)
    target = torch.zeros(1, 2, 2, 2)
    target[:, 0] = 20 / 110
    right = soft_targets(target, head.centres, 5 / 110).clamp_min(1e-9).log()
    wrong = soft_targets(-target, head.centres, 5 / 110).clamp_min(1e-9).log()
    assert bins_loss(right, target, head) < bins_loss(wrong, target, head)
    side = right[..., :1, :1]  # a coarser output is compared with the pooled target
    assert bins_loss(side, target, head).item() == pytest.approx(
        bins_loss(right, target, head).item()
    )


def _bins_config(**loss):
    return tiny_config(
        generator={"ngf": 4, "depth": 4, "lcfe_dk": 4, "dropout_layers": 1, "head": "bins"},
        loss={"l1_weight": 0.0, "bins_weight": 1.0, "gan_weight": 0.0, **loss},
    )


def test_training_step_uses_the_cross_entropy(scene_tree: Path, tmp_path: Path) -> None:
    trainer = Trainer(_bins_config(), tmp_path / "run", scene_tree, progress=False)
    trainer.build()
    batch = next(iter(trainer.loader))
    logs = trainer.train_step(batch["lum"], batch["target"])
    assert logs["bins"] > 0 and logs["g_loss"] == pytest.approx(logs["bins"], rel=1e-4)


def test_bins_is_refused_outside_lab_and_without_the_head(scene_tree: Path, tmp_path: Path) -> None:
    rgb = _bins_config().model_copy(update={"color_space": "rgb"})
    with pytest.raises(UserError, match="lab"):
        Trainer(rgb, tmp_path / "rgb", scene_tree, progress=False).build()
    plain = tiny_config(loss={"bins_weight": 1.0})
    with pytest.raises(UserError, match="bins_weight"):
        Trainer(plain, tmp_path / "plain", scene_tree, progress=False).build()


def test_fine_tuning_starts_from_a_regression_model(scene_tree: Path, tmp_path: Path) -> None:
    regression = {**_bins_config().generator.model_dump(), "head": "bounded"}
    path = save_tiny_checkpoint(tmp_path / "regression.pt", generator=regression)
    source = load_colorizer(path, "cpu").generator
    cfg = _bins_config()
    cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"init_from": str(path)})})
    trainer = Trainer(cfg, tmp_path / "run", scene_tree, progress=False)
    trainer.build()
    trainer.start(None, False)
    tuned = trainer.step.g_raw.eval()
    set_temperature(tuned, 1.0)
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        expected, got = source(x), tuned(x)
    # The same body, and a head whose mean is the bounded head's output before its soft cap
    # (chroma well below the cap here, so nearly the identity).
    assert expected.abs().max() > 0.01
    assert (expected - got).abs().max() * 110 < 0.5
    other = tiny_config(generator={**regression, "ngf": 8})
    with pytest.raises(UserError, match="different generator"):
        GanStep.build(other, torch.device("cpu")).init_from(path)


def test_export_records_the_temperature_and_refuses_other_heads(tmp_path: Path, capsys) -> None:
    generator = _bins_config().generator.model_dump()
    bins = save_tiny_checkpoint(tmp_path / "bins.pt", generator=generator)
    out = tmp_path / "small.pt"
    args = ["export", "--checkpoint", bins, "-o", out, "--format", "torch-fp16"]
    code, _, err = run_cli([*args, "--temperature", "0.6"], capsys)
    assert code == 0, err
    exported = load_colorizer(out, "cpu")
    assert exported.cfg.generator.head_temperature == pytest.approx(0.6)
    assert exported.generator.head.temperature == pytest.approx(0.6)
    plain = save_tiny_checkpoint(tmp_path / "plain.pt")
    code, _, err = run_cli(
        ["export", "--checkpoint", plain, "-o", tmp_path / "p.pt", "--temperature", "0.6"],
        capsys,
    )
    assert_user_error(code, err, "'bins' head")
    code, _, err = run_cli([*args, "--temperature", "1.5", "--force"], capsys)
    assert_user_error(code, err, "(0, 1]")


def test_chroma_correlation_statistics_by_hand() -> None:
    import numpy as np

    from rscolor.metrics.chroma import chroma_statistics

    load_script("scripts/chroma_correlation.py")  # the script that prints them still loads
    true = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    stats = chroma_statistics(0.5 * true + 3.0, true)  # right hue, half the colour
    assert stats["correlation"] == pytest.approx(1.0)
    assert stats["spread_ratio"] == pytest.approx(0.5)
    assert stats["least_squares_gain"] == pytest.approx(2.0)
    noise = np.array([[0.0, 1.0], [0.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])  # orthogonal
    stats = chroma_statistics(noise, true)
    assert stats["correlation"] == pytest.approx(0.0)
    assert stats["r2"] == pytest.approx(1 - (4 + 1) / 4)
