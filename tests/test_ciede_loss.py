"""The differentiable CIEDE2000 (color/ciede.py) and the training loss built on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000

from rscolor.color.ciede import ciede2000_ab
from rscolor.errors import UserError
from rscolor.training.losses import ciede_loss
from rscolor.training.trainer import Trainer

from .helpers import tiny_config


def _pairs(n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random Lab pairs at equal lightness, with grey truths, grey predictions, exact
    matches and near matches among them."""
    rng = np.random.default_rng(0)
    lum = rng.uniform(0, 100, n)
    truth, pred = rng.normal(0, 25, (n, 2)), rng.normal(0, 25, (n, 2))
    pred[:50] = 0
    truth[50:100] = 0
    pred[100:150] = truth[100:150]
    pred[150:200] = truth[150:200] + rng.normal(0, 0.5, (50, 2))
    return lum, truth, pred


def test_values_match_scikit_image_at_equal_lightness() -> None:
    lum, truth, pred = _pairs()
    expected = deltaE_ciede2000(np.c_[lum, truth], np.c_[lum, pred])
    got = ciede2000_ab(torch.tensor(pred), torch.tensor(truth), dim=1).numpy()
    # Exact to float rounding but where the softened signed hue root matters (< 0.05).
    assert np.median(np.abs(got - expected)) < 1e-5
    assert np.abs(got - expected).max() < 0.05
    assert got[100:150].max() < 1e-6  # an exact match is 0


def test_gradient_is_finite_everywhere_and_matches_finite_differences() -> None:
    _, truth, pred = _pairs()
    x = torch.tensor(pred, requires_grad=True)
    ciede2000_ab(x, torch.tensor(truth), dim=1).sum().backward()
    assert torch.isfinite(x.grad).all()
    # Away from the grey and equal points the gradient is the derivative.
    smooth = slice(200, None)
    x = torch.tensor(pred[smooth], requires_grad=True)
    t = torch.tensor(truth[smooth])
    ciede2000_ab(x, t, dim=1).sum().backward()
    numeric = torch.zeros_like(x)
    for c in range(2):
        step = torch.zeros_like(x)
        step[:, c] = 1e-5
        hi, lo = (
            ciede2000_ab(x.detach() + step, t, dim=1),
            ciede2000_ab(x.detach() - step, t, dim=1),
        )
        numeric[:, c] = (hi - lo) / 2e-5
    assert torch.allclose(x.grad, numeric, atol=1e-5)


def test_loss_is_mean_ciede_in_lab_units_and_pools_side_outputs() -> None:
    target = torch.zeros(1, 2, 4, 4)
    target[:, 0] = 0.2  # a = 22 Lab units at scale 110
    pred = torch.zeros(1, 2, 4, 4)
    expected = deltaE_ciede2000(np.array([50.0, 22.0, 0.0]), np.array([50.0, 0.0, 0.0]))
    assert ciede_loss([pred], target, 110.0).item() == pytest.approx(expected, rel=1e-5)
    side = torch.zeros(1, 2, 2, 2)  # compared with the pooled target: the same error
    assert ciede_loss([pred, side], target, 110.0).item() == pytest.approx(expected, rel=1e-5)


def test_an_equal_l1_error_costs_less_at_high_chroma() -> None:
    """The same 10-unit chroma miss (equal in L1) costs less than half as much on a vivid
    pixel as on a grey one: the S_C = 1 + 0.045 C weight that L1 lacks."""

    def cost(pred: list[float], truth: list[float]) -> float:
        return ciede2000_ab(torch.tensor([pred]), torch.tensor([truth])).item()

    assert cost([0.0, 50.0], [0.0, 40.0]) < 0.5 * cost([0.0, 10.0], [0.0, 0.0])


def test_training_step_logs_ciede_and_refuses_other_colour_spaces(
    scene_tree: Path, tmp_path: Path
) -> None:
    cfg = tiny_config(loss={"ciede_weight": 1.0, "l1_weight": 0.0, "gan_weight": 0.0})
    trainer = Trainer(cfg, tmp_path / "run", scene_tree, progress=False)
    trainer.build()
    batch = next(iter(trainer.loader))
    logs = trainer.train_step(batch["lum"], batch["target"])
    assert logs["ciede"] > 0 and logs["g_loss"] == pytest.approx(logs["ciede"], rel=1e-4)
    rgb = tiny_config(color_space="rgb", loss={"ciede_weight": 1.0})
    with pytest.raises(UserError, match="ciede_weight"):
        Trainer(rgb, tmp_path / "rgb", scene_tree, progress=False).build()


def test_chroma_weight_makes_a_miss_on_a_colourful_pixel_cost_more() -> None:
    target = torch.zeros(1, 2, 1, 2)
    target[0, 1, 0, 1] = 0.4  # one grey pixel, one vivid
    miss_vivid = target.clone()
    miss_vivid[0, 1, 0, 1] = 0.2
    miss_grey = target.clone()
    miss_grey[0, 1, 0, 0] = 0.2
    plain = [ciede_loss([p], target, 110.0).item() for p in (miss_grey, miss_vivid)]
    weighted = [ciede_loss([p], target, 110.0, 1.0).item() for p in (miss_grey, miss_vivid)]
    assert weighted[1] / weighted[0] > plain[1] / plain[0]
