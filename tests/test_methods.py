"""Every compared method and ablation row: its config builds the network it names, trains
two steps with the Trainer and colorizes; the configs of a scale share one budget."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rscolor.color import gray_lightness, rgb_to_lab
from rscolor.errors import UserError
from rscolor.experiment import load_config
from rscolor.inference.colorizer import load_colorizer
from rscolor.models import build_discriminator, build_generator
from rscolor.models.discriminators import ConvDiscriminator, MultiScaleDiscriminator
from rscolor.models.joint_stream import JointStreamGenerator
from rscolor.models.multiscale_generator import MultiScaleGenerator
from rscolor.models.unet import UNetGenerator
from rscolor.suites.methods import SCALES, method_config_path, suites_for, unique_methods
from rscolor.training.trainer import Trainer

from .helpers import CONFIGS, method_config

KEYS = [m.key for m in unique_methods(suites_for("all"))]

# What each method's config must build: generator class, discriminator class, colour space.
EXPECTED = {
    "unet": (UNetGenerator, None, "lab"),
    "patchgan": (UNetGenerator, ConvDiscriminator, "lab"),
    "dcgan": (UNetGenerator, ConvDiscriminator, "lab"),
    "multid": (UNetGenerator, MultiScaleDiscriminator, "lab"),
    "multig": (MultiScaleGenerator, ConvDiscriminator, "yuv"),
    "jsdcgan": (JointStreamGenerator, ConvDiscriminator, "lab"),
    "ablation-single": (JointStreamGenerator, ConvDiscriminator, "lab"),
    "ablation-joint": (JointStreamGenerator, ConvDiscriminator, "lab"),
    "ablation-concat": (JointStreamGenerator, ConvDiscriminator, "lab"),
    "ablation-lcfe": (JointStreamGenerator, ConvDiscriminator, "lab"),
}

# Budget fields every config of a scale shares with the full method's.
BUDGET = {
    "data": ("crop_size", "eval_size", "split_ratios", "split_seed", "val_max_images",
             "hflip", "vflip"),
    "generator": ("ngf", "depth", "max_mult", "norm", "dropout", "dropout_layers"),
    "optim": ("lr", "beta1", "beta2", "lr_decay", "g_steps_per_d", "grad_clip"),
    "loss": ("l1_weight",),
    "train": ("epochs", "batch_size", "max_steps_per_epoch", "seed", "select_metric", "amp"),
}  # fmt: skip


def test_every_suite_method_has_both_scales() -> None:
    assert set(EXPECTED) == set(KEYS)
    for key in KEYS:
        for scale in SCALES:
            assert method_config_path(CONFIGS, key, scale).is_file(), f"{scale}/{key}.yaml"


@pytest.mark.parametrize("key", KEYS)
def test_method_config_builds_what_it_names(key: str) -> None:
    cfg = method_config(key)
    g_cls, d_cls, space = EXPECTED[key]
    assert cfg.color_space == space
    assert type(build_generator(cfg)) is g_cls
    d = build_discriminator(cfg)
    assert (d is None) if d_cls is None else type(d) is d_cls


@pytest.mark.parametrize("key", KEYS)
def test_method_trains_two_steps_and_colorizes(key: str, scene_tree: Path, tmp_path: Path) -> None:
    trainer = Trainer(method_config(key), tmp_path / key, scene_tree, progress=False)
    summary = trainer.fit()
    assert trainer.state.global_step == 2 and summary.epochs == 1
    assert all(np.isfinite(v) for k, v in trainer.state.history[0].items() if k in ("l1", "g_loss"))
    if EXPECTED[key][1] is not None:
        assert "d_loss" in trainer.state.history[0] and "adv" in trainer.state.history[0]
    else:
        assert "d_loss" not in trainer.state.history[0]
    colorizer = load_colorizer(tmp_path / key / "best.pt", "cpu")
    gray = np.linspace(0.1, 0.9, 40 * 44, dtype=np.float32).reshape(40, 44)
    rgb = colorizer.colorize(gray)
    assert rgb.shape == (40, 44, 3) and np.isfinite(rgb).all()
    assert rgb.min() >= 0 and rgb.max() <= 1
    if colorizer.cfg.color_space == "lab":  # the input's lightness is kept (up to gamut clipping)
        lightness = rgb_to_lab(rgb)[..., 0]
        assert np.median(np.abs(lightness - gray_lightness(gray))) < 1.0


@pytest.mark.parametrize("scale", SCALES)
def test_configs_of_a_scale_share_the_full_methods_budget(scale: str) -> None:
    full = load_config(method_config_path(CONFIGS, "jsdcgan", scale)).to_dict()
    for key in KEYS:
        cfg = load_config(method_config_path(CONFIGS, key, scale)).to_dict()
        for section, fields in BUDGET.items():
            for field in fields:
                assert cfg[section][field] == full[section][field], (
                    f"{key}-{scale}: {section}.{field}"
                )
        if cfg["discriminator"]["name"] is not None:
            assert cfg["discriminator"]["ndf"] == full["discriminator"]["ndf"], key


@pytest.mark.parametrize("scale", SCALES)
def test_ablation_rows_differ_from_the_full_method_only_in_generator_switches(scale: str) -> None:
    full = load_config(method_config_path(CONFIGS, "jsdcgan", scale)).to_dict()
    switches = {"macro_stream", "low_level", "fusion"}
    for key in ("ablation-single", "ablation-joint", "ablation-concat", "ablation-lcfe", "dcgan"):
        cfg = load_config(method_config_path(CONFIGS, key, scale)).to_dict()
        for section in ("discriminator", "loss", "optim", "train", "data"):
            assert cfg[section] == full[section], f"{key}-{scale}: {section}"
        if key.startswith("ablation"):
            differing = {k for k in cfg["generator"] if cfg["generator"][k] != full["generator"][k]}
            assert differing and differing <= switches, f"{key}: {differing}"


@pytest.mark.parametrize("key", KEYS)
def test_paper_scale_configs_build(key: str) -> None:
    cfg = method_config(key, "paper", tiny=False)
    assert cfg.data.crop_size == 256 and cfg.generator.depth == 8 and cfg.train.batch_size == 8
    with torch.device("meta"):  # shapes only: no memory, no time
        g = build_generator(cfg)
        build_discriminator(cfg)
    assert g.size_multiple <= 256


def test_multi_d_scales_must_match_the_generators_side_outputs() -> None:
    cfg = method_config("multid").model_copy(deep=True)
    cfg.generator.side_outputs = 1
    with pytest.raises(UserError, match="side_outputs"):
        build_discriminator(cfg)


def test_multi_g_has_no_norm_at_its_1x1_bottleneck() -> None:
    """pix2pix's rule: with a 1x1 innermost map a batch-norm has one value per channel and
    training on a batch of one fails; the outermost stage has no norm either."""
    cfg = method_config("multig").model_copy(deep=True)
    cfg.generator.depth = 5  # 32 px -> 1x1 bottleneck
    g = build_generator(cfg).train()
    assert isinstance(g.encoder[0].norm, torch.nn.Identity)
    assert isinstance(g.encoder[-1].norm, torch.nn.Identity)
    assert isinstance(g.encoder[1].norm, torch.nn.BatchNorm2d)
    out = g(torch.randn(1, 1, 32, 32))
    assert out.shape == (1, 2, 32, 32)
