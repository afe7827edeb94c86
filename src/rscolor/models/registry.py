"""Networks found by name, as pix2pix finds its models: a YAML config names a generator
and a discriminator; `build_generator` / `build_discriminator` make them."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from rscolor.color import get_color_space
from rscolor.config import DiscriminatorConfig, ExperimentConfig, GeneratorConfig
from rscolor.errors import UserError
from rscolor.models.discriminators import (
    build_conv_discriminator,
    build_multiscale_discriminator,
)
from rscolor.models.joint_stream import JointStreamGenerator
from rscolor.models.multiscale_generator import MultiScaleGenerator
from rscolor.models.unet import UNetGenerator

GeneratorFactory = Callable[[GeneratorConfig, int, int], nn.Module]
DiscriminatorFactory = Callable[[DiscriminatorConfig, int], nn.Module]

GENERATORS: dict[str, GeneratorFactory] = {
    "unet": UNetGenerator,
    "joint_stream": JointStreamGenerator,
    "multiscale_g": MultiScaleGenerator,  # Multi-G (configs may still say "multiscale")
}

DISCRIMINATORS: dict[str, DiscriminatorFactory] = {
    "patchgan": build_conv_discriminator,
    "dcgan": build_conv_discriminator,
    "multiscale_d": build_multiscale_discriminator,  # Multi-D (or "multiscale", see RENAMED)
}


def build_generator(cfg: ExperimentConfig) -> nn.Module:
    name = cfg.generator.name
    if name not in GENERATORS:
        raise UserError(f"unknown generator {name!r}; known: {', '.join(sorted(GENERATORS))}")
    out_ch = get_color_space(cfg.color_space).target_channels
    g = cfg.generator
    if name != "joint_stream" and (g.encoder != "none" or g.classes):
        raise UserError(
            f"generator.encoder and the scene-class head (loss.class_weight) need generator "
            f"joint_stream, not {name!r}"
        )
    try:
        return GENERATORS[name](cfg.generator, 1, out_ch)
    except ValueError as exc:
        raise UserError(f"generator {name}: {exc}") from None


def build_discriminator(cfg: ExperimentConfig) -> nn.Module | None:
    name = cfg.discriminator.name
    if name is None or cfg.loss.gan_weight == 0:
        return None
    if name not in DISCRIMINATORS:
        raise UserError(
            f"unknown discriminator {name!r}; known: {', '.join(sorted(DISCRIMINATORS))}"
        )
    check_multiscale_d(cfg)
    in_ch = 1 + get_color_space(cfg.color_space).target_channels
    return DISCRIMINATORS[name](cfg.discriminator, in_ch)


def is_multiscale_d(cfg: ExperimentConfig) -> bool:
    return cfg.discriminator.name == "multiscale_d" and cfg.loss.gan_weight > 0


def check_multiscale_d(cfg: ExperimentConfig) -> None:
    """Multi-D judges the generator's side outputs plus its image: the two counts must
    agree, or training fails on its first step with a shape error."""
    if not is_multiscale_d(cfg):
        return
    g = cfg.generator
    if g.name != "unet":
        raise UserError(
            f"discriminator multiscale_d (Multi-D) needs generator unet, not {g.name!r}"
        )
    side = min(g.side_outputs, g.depth - 1)
    if side + 1 != cfg.discriminator.scales:
        raise UserError(
            f"discriminator.scales is {cfg.discriminator.scales} but the generator gives "
            f"{side + 1} scales (generator.side_outputs {g.side_outputs} + 1, at most depth): "
            "set generator.side_outputs = discriminator.scales - 1"
        )
