"""The levers of the shipped model's recipe (issue 11): false-colour metric, bounded chroma
head, random-rescale augmentation, adversarial warm-up, spectral norm, flip averaging,
and the model metadata that `--scale auto` reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rscolor.data.dataset import ColorizationDataset
from rscolor.data.images import find_images
from rscolor.inference.colorizer import Colorizer
from rscolor.metrics.image_metrics import METRIC_KEYS, false_color, image_metrics
from rscolor.models.blocks import BoundedChroma
from rscolor.models.registry import build_discriminator, build_generator
from rscolor.training.trainer import Trainer

from .helpers import load_script, tiny_config

ROOT = Path(__file__).resolve().parents[1]


def lab_image(chroma: list[float], hue_deg: float = 30.0) -> np.ndarray:
    """A 1 x N Lab image, L = 50, with the given chromas at one hue."""
    c = np.asarray(chroma, np.float64)
    h = np.deg2rad(hue_deg)
    return np.stack([np.full_like(c, 50.0), c * np.cos(h), c * np.sin(h)], -1)[None]


def test_false_color_counts_vivid_pixels_well_above_the_truth() -> None:
    pred = lab_image([30, 30, 24, 50, 60])
    true = lab_image([5, 12, 0, 40, 39.5])
    # pixel 0: 30 > 25 and 25 above -> false; 1: only 18 above; 2: 24 is not vivid;
    # 3: 10 above; 4: 20.5 above -> false. 2 of 5.
    assert false_color(pred, true) == pytest.approx(40.0)
    assert false_color(true, true) == 0.0


def test_false_color_is_in_every_metric_row() -> None:
    rng = np.random.default_rng(0)
    true = rng.uniform(0.3, 0.7, (16, 16, 3)).astype(np.float32)
    vivid = true.copy()
    vivid[..., 0], vivid[..., 2] = 1.0, 0.0  # saturated red-orange everywhere
    assert "false_color" in METRIC_KEYS
    assert image_metrics(vivid, true)["false_color"] > 90.0
    assert image_metrics(true, true)["false_color"] == 0.0


def test_bounded_chroma_keeps_hue_caps_norm_and_is_near_identity_when_small() -> None:
    head = BoundedChroma(0.5)
    x = torch.tensor([[[[0.01]], [[0.02]]], [[[3.0]], [[4.0]]]])  # B=2, C=2, 1x1
    y = head(x)
    assert torch.allclose(y[0], x[0], rtol=1e-3)
    norm = torch.linalg.vector_norm(y[1], dim=0)
    assert 0.49 < norm.item() <= 0.5
    assert torch.allclose(y[1, 0] / y[1, 1], x[1, 0] / x[1, 1])  # same hue
    assert torch.linalg.vector_norm(head(torch.randn(4, 2, 8, 8) * 100), dim=1).max() <= 0.5 + 1e-6


def test_bounded_head_generator_never_exceeds_its_chroma() -> None:
    cfg = tiny_config(generator__head="bounded", generator__head_max_chroma=30.0)
    g = build_generator(cfg).eval()
    with torch.no_grad():
        out = g(torch.randn(2, 1, 32, 32) * 5)
    assert (torch.linalg.vector_norm(out, dim=1) * 110).max() <= 30.0 + 1e-4
    # Same parameters as the tanh head: checkpoints of either kind load into the other.
    tanh = build_generator(tiny_config())
    assert tanh.state_dict().keys() == g.state_dict().keys()


def test_bounded_head_refuses_rgb_targets() -> None:
    from rscolor.errors import UserError

    with pytest.raises(UserError, match="chroma target"):
        build_generator(tiny_config(color_space="rgb", generator__head="bounded"))


def test_spectral_norm_wraps_every_discriminator_conv() -> None:
    d = build_discriminator(tiny_config(discriminator__spectral_norm=True))
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(c, "parametrizations") for c in convs)
    plain = build_discriminator(tiny_config())
    assert not any(hasattr(m, "parametrizations") for m in plain.modules())


def test_rescale_crops_keep_size_vary_zoom_and_are_reproducible(scene_tree: Path) -> None:
    files = [p.relative_to(scene_tree).as_posix() for p in find_images(scene_tree)][:6]
    kwargs = dict(crop_size=16, train=True, cache=False, seed=3, rescale=(0.5, 2.0))
    ds = ColorizationDataset(scene_tree, files, **kwargs)
    again = ColorizationDataset(scene_tree, files, **kwargs)
    sides = {ds._region((40, 40), np.random.default_rng([3, 0, i])) for i in range(40)}
    assert min(sides) < 16 < max(sides) <= 32  # zoomed in and out, within 16/0.5
    for i in range(len(files)):
        a, b = ds[(0, i)], again[(0, i)]
        assert a["lum"].shape == (1, 16, 16) and a["target"].shape == (2, 16, 16)
        assert torch.equal(a["lum"], b["lum"]) and torch.equal(a["target"], b["target"])
    plain = ColorizationDataset(scene_tree, files, crop_size=16, train=True, cache=False)
    assert plain._region((40, 40), np.random.default_rng(0)) == 16


def test_rescale_zoom_out_is_limited_by_the_image(scene_tree: Path) -> None:
    ds = ColorizationDataset(scene_tree, [], crop_size=32, train=True, rescale=(0.25, 0.25))
    assert ds._region((40, 50), np.random.default_rng(0)) == 40  # not 128


def test_adversarial_warmup_leaves_the_discriminator_untouched(
    scene_tree: Path, tmp_path: Path
) -> None:
    cfg = tiny_config(
        loss={"adv_warmup_epochs": 1.0, "adv_ramp_epochs": 1.0},
        train={"epochs": 1, "batch_size": 4, "max_steps_per_epoch": 2, "threads": 1},
    )
    trainer = Trainer(cfg, tmp_path / "run", scene_tree, progress=False)
    trainer.build()
    d_raw = trainer.step.d_raw
    before = [p.detach().clone() for p in d_raw.parameters()]
    batch = next(iter(trainer.loader))
    logs = trainer.train_step(batch["lum"], batch["target"])
    assert "adv" not in logs and "d_loss" not in logs
    assert all(torch.equal(a, b) for a, b in zip(before, d_raw.parameters(), strict=True))
    steps = trainer.sampler.batches_per_epoch()
    trainer.state.global_step = int(1.5 * steps)
    assert trainer.adv_factor() == pytest.approx(0.5, abs=0.5 / steps)
    trainer.state.global_step = 3 * steps
    assert trainer.adv_factor() == 1.0
    logs = trainer.train_step(batch["lum"], batch["target"])
    assert "adv" in logs and "d_loss" in logs


def test_model_records_scene_size_and_ground_pixel_size(scene_tree: Path, tmp_path: Path) -> None:
    cfg = tiny_config(data={"crop_size": 32, "val_max_images": 4, "gsd_m": 2.0})
    trainer = Trainer(cfg, tmp_path / "run", scene_tree, progress=False)
    trainer.build()
    meta = trainer.meta()
    assert meta.scene_px == 40 and meta.gsd_m == 2.0


class _Asymmetric(torch.nn.Module):
    """Output = input shifted by one column: not flip-equivariant."""

    size_multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x], 1).roll(1, dims=-1) * 0.1


def test_flip_average_is_the_mean_over_the_four_flips() -> None:
    colorizer = Colorizer(_Asymmetric(), tiny_config())
    lum = torch.arange(16.0).view(1, 1, 4, 4)
    plain = colorizer.run_generator(lum)
    averaged = colorizer.calibrated(flip_average=True).run_generator(lum)
    assert not colorizer.flip_average  # calibrated() leaves this one as it was
    flips = [(), (-1,), (-2,), (-2, -1)]
    expected = (
        sum(
            (torch.cat([lum.flip(f) if f else lum] * 2, 1).roll(1, -1) * 0.1).flip(f)
            if f
            else torch.cat([lum] * 2, 1).roll(1, -1) * 0.1
            for f in flips
        )
        / 4
    )
    assert torch.allclose(averaged, expected)
    assert not torch.allclose(averaged, plain)


def test_find_images_follows_linked_class_folders(scene_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "combined"
    script = ROOT / "scripts" / "combine_datasets.py"
    subprocess.run([sys.executable, str(script), str(out), str(scene_tree)], check=True)
    assert (out / "forest").is_symlink()
    assert len(find_images(out)) == len(find_images(scene_tree)) == 30


def test_learning_curve_reads_the_history_with_and_without_chroma(tmp_path: Path) -> None:
    module = load_script("scripts/learning_curve.py")
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.csv").write_text(
        "epoch,val_ciede2000,val_colorfulness,val_colorfulness_gt,val_chroma_corr,train_images_per_s\n"
        "1,7.5,5,20,,3.0\n"
        "2,7.0,10,20,0.41,3.1\n"
    )
    rows = module.read_history(run / "history.csv")
    assert [r["colour_pct"] for r in rows] == [25.0, 50.0]
    text = module.table(rows)
    assert "| 1 | 7.500 | 25.0 | - | 3.0 |" in text and "| 2 | 7.000 | 50.0 | 0.410 | 3.1 |" in text
    module.plot(rows, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 1000


def test_score_recipe_rows_average_seeds_and_show_speed_only_where_measured() -> None:
    module = load_script("scripts/score_recipe.py")
    base = {"ciede2000": 7.0, "false_color": 0.0, "colorfulness": 9.0, "colorfulness_gt": 18.0}
    base |= {"acc2": 30.0, "acc5": 80.0, "chroma_corr": 0.4, "chroma_spread": 0.5}

    def seed(ciede: float, **extra: dict) -> dict:
        return {name: base | {"ciede2000": ciede} for name in module.SETS} | extra

    speed = {"train_images_per_s": 2.0, "inference_mp_per_s": 0.1}
    table = module.aggregate(
        {"a-s0": seed(7.0, speed=speed), "a-s1": seed(7.2, speed=speed), "b-s0": seed(8.0)}
    )
    assert table["a"]["aid_val"]["ciede2000"] == pytest.approx([7.1, 0.1])
    assert table["a"]["seeds"] == 2 and "speed" not in table["b"]
    lines = module.speed_markdown(table).splitlines()
    assert lines[2].startswith("| a |") and lines[2].endswith("| 2.0 | 0.100 |")
    assert lines[3].startswith("| b |") and lines[3].endswith("| - | - |")
    assert "| 50 |" in module.markdown(table)  # colourfulness, % of the truth's
