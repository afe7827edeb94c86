"""Networks found by name, as pix2pix finds its models: a YAML config names a generator
and a discriminator; `build_generator` / `build_discriminator` make them.

Each architecture is one line below: its options class (declared next to its network, a
subclass of `GeneratorOptions` / `DiscriminatorOptions` whose ``name`` is a ``Literal``)
and its builder. A config's ``generator:`` and ``discriminator:`` sections are read as the
union of the registered options classes, discriminated on ``name``
(`generator_options`, `discriminator_options`), so a section holds exactly the options
of the network it names (docs/architecture.md, "Adding a model").

The generator protocol (`Generator`): what training, `Colorizer`, tiling and ONNX export
rely on. Built as ``build(options, in_ch, out_ch)`` (in_ch 1: the luminance; out_ch: the
colour space's target channels), a generator

- has ``size_multiple`` (int): H and W of an input must be multiples of it (inference
  pads to it, tiles are multiples of it, the model file records it);
- maps ``forward(x)`` (B x in_ch x H x W) to B x out_ch x H x W in [-1, 1] (the
  normalised target), in eval mode at any H, W that are multiples of ``size_multiple``;
- exports to ONNX as it is (``torch.onnx.export(dynamo=True)``, dynamic B, H, W) and
  matches torch there (tests/test_models.py checks each registered one);
- optionally: ``forward(x, multiscale=True)``, the images at 1/2**k, ..., 1/2, 1 (coarse
  to fine; what Multi-D judges: ``side_outputs``, `check_multiscale_d`);
  ``forward(x, with_classes=True)``, the image and scene-class logits (a ``classes``
  option, loss.class_weight); a ``head`` attribute, its output head (a `ChromaBins`
  head takes loss.bins_weight and ``--temperature``); ``encoders()``, its pretrained
  encoders (loaded and frozen by the trainer; an ``encoder_pretrained`` option).

A discriminator is built as ``build(options, in_ch)`` (in_ch: 1 + the target channels)
and maps ``forward(gray, color)`` to a list of logit maps (Multi-D: ``color`` is the list
of images, coarse to fine).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from torch import nn

from rscolor.color import get_color_space
from rscolor.config import RENAMED, LossConfig
from rscolor.errors import UserError
from rscolor.models.discriminators import (
    ConvDiscriminatorOptions,
    MultiScaleDiscriminatorOptions,
    build_conv_discriminator,
    build_multiscale_discriminator,
)
from rscolor.models.joint_stream import JointStreamGenerator, JointStreamOptions
from rscolor.models.multiscale_generator import MultiScaleGenerator, MultiScaleOptions
from rscolor.models.options import (
    DiscriminatorOptions,
    GeneratorOptions,
    NetworkOptions,
    NoDiscriminatorOptions,
)
from rscolor.models.unet import UNetGenerator, UNetOptions


@runtime_checkable
class Generator(Protocol):
    """The generator protocol (the module docstring has its optional parts)."""

    @property
    def size_multiple(self) -> int: ...

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Architecture:
    """A registered network: its options class and ``build(options, *channels)``."""

    options: type[NetworkOptions]
    build: Callable[..., nn.Module]


GENERATORS: dict[str, Architecture] = {
    "unet": Architecture(UNetOptions, UNetGenerator),
    "joint_stream": Architecture(JointStreamOptions, JointStreamGenerator),
    "multiscale_g": Architecture(MultiScaleOptions, MultiScaleGenerator),  # was "multiscale"
}

DISCRIMINATORS: dict[str, Architecture] = {
    "patchgan": Architecture(ConvDiscriminatorOptions, build_conv_discriminator),
    "dcgan": Architecture(ConvDiscriminatorOptions, build_conv_discriminator),
    "multiscale_d": Architecture(MultiScaleDiscriminatorOptions, build_multiscale_discriminator),
}

DEFAULT_GENERATOR = "joint_stream"
DEFAULT_DISCRIMINATOR = "dcgan"


class NetworksConfig(Protocol):
    """The parts of an experiment config the builders read (`rscolor.experiment`)."""

    @property
    def color_space(self) -> str: ...

    @property
    def generator(self) -> GeneratorOptions: ...

    @property
    def discriminator(self) -> DiscriminatorOptions: ...

    @property
    def loss(self) -> LossConfig: ...


# ------------------------------------------------------- options from a config section
def generator_options(raw: Any, drop_others: bool = False) -> Any:
    """A config's ``generator:`` section as the options of the generator it names (the
    registered options classes as one union on ``name``; default joint_stream). A field of
    another registered generator is an error naming its owner, or with `drop_others`
    (configs a run or model file recorded, a suite's overrides for every method) dropped."""
    return _options(raw, GENERATORS, "generator", DEFAULT_GENERATOR, drop_others)


def discriminator_options(raw: Any, drop_others: bool = False) -> Any:
    """A config's ``discriminator:`` section, as `generator_options` (default dcgan;
    ``name: null``: no discriminator)."""
    return _options(raw, DISCRIMINATORS, "discriminator", DEFAULT_DISCRIMINATOR, drop_others)


def _options(
    raw: Any, table: Mapping[str, Architecture], section: str, default: str, drop_others: bool
) -> Any:
    if not isinstance(raw, dict):
        return raw  # an options instance passes; anything else fails the field's type
    name = raw.get("name", default)
    name = RENAMED[section].get(name, name) if isinstance(name, str) else name
    options = _options_class(name, table, section)
    owners = _other_owners(options, table)
    found = {key: owners[key] for key in raw if key in owners}
    if found and not drop_others:
        key, owner = next(iter(found.items()))
        message = f"an option of {section} {owner}, not of {name}"
        raise _error(PydanticCustomError("other_option", message), key, raw[key])
    kept = {key: value for key, value in raw.items() if key not in found}
    return options.model_validate({**kept, "name": name})


def _options_class(
    name: Any, table: Mapping[str, Architecture], section: str
) -> type[NetworkOptions]:
    if section == "discriminator" and name is None:
        return NoDiscriminatorOptions
    if isinstance(name, str) and name in table:
        return table[name].options
    known = ", ".join(sorted(table))
    message = f"unknown {section} {name!r}; known: {known}"
    raise _error(PydanticCustomError("unknown_name", message), "name", name)


def _other_owners(
    options: type[NetworkOptions], table: Mapping[str, Architecture]
) -> dict[str, str]:
    """Field -> the name of a registered network that has it, for fields `options` lacks."""
    owners: dict[str, str] = {}
    for name, entry in table.items():
        for key in entry.options.model_fields:
            if key not in options.model_fields:
                owners.setdefault(key, name)
    return owners


def _error(error: PydanticCustomError, key: str, value: Any) -> ValidationError:
    detail = InitErrorDetails(type=error, loc=(key,), input=value)
    return ValidationError.from_exception_data("options", [detail])


# ------------------------------------------------------------------------- building
def build_generator(cfg: NetworksConfig) -> nn.Module:
    """The generator `cfg.generator` names, for `cfg.color_space`'s target."""
    options = cfg.generator
    out_ch = get_color_space(cfg.color_space).target_channels
    try:
        return GENERATORS[options.name].build(options, 1, out_ch)
    except ValueError as exc:
        raise UserError(f"generator {options.name}: {exc}") from None


def build_discriminator(cfg: NetworksConfig) -> nn.Module | None:
    """The discriminator `cfg.discriminator` names; None without one or with no
    adversarial term (loss.gan_weight 0)."""
    options = cfg.discriminator
    if options.name is None or cfg.loss.gan_weight == 0:
        return None
    check_multiscale_d(cfg)
    in_ch = 1 + get_color_space(cfg.color_space).target_channels
    return DISCRIMINATORS[options.name].build(options, in_ch)


def with_classes(options: GeneratorOptions, classes: int) -> GeneratorOptions:
    """`options` with a scene-class head of `classes` outputs (loss.class_weight)."""
    if "classes" not in type(options).model_fields:
        raise UserError(
            f"the scene-class head (loss.class_weight) needs generator joint_stream, "
            f"not {options.name!r}"
        )
    return options.model_copy(update={"classes": classes})


def check_heads(cfg: NetworksConfig) -> None:
    """The generator's heads against the loss and colour space: a 'bins' head's grid is in
    Lab; loss.class_weight needs the scene-class head (both are joint_stream's options)."""
    joint = cfg.generator if isinstance(cfg.generator, JointStreamOptions) else None
    if joint and joint.head == "bins" and cfg.color_space != "lab":
        raise UserError("generator.head 'bins' needs color_space: lab (its grid is in Lab)")
    if cfg.loss.class_weight > 0 and not (joint and joint.classes):
        raise UserError("loss.class_weight needs the scene-class head (generator.classes)")


def norm_layers(cfg: NetworksConfig) -> list[str]:
    """The norm layers of the generator and the discriminator ('none' without one)."""
    return [cfg.generator.norm_layer(), cfg.discriminator.norm_layer()]


def is_multiscale_d(cfg: NetworksConfig) -> bool:
    return cfg.discriminator.name == "multiscale_d" and cfg.loss.gan_weight > 0


def check_multiscale_d(cfg: NetworksConfig) -> None:
    """Multi-D judges the generator's side outputs plus its image: the two counts must
    agree, or training fails on its first step with a shape error."""
    if not is_multiscale_d(cfg):
        return
    g, d = cfg.generator, cfg.discriminator
    if not isinstance(g, UNetOptions):
        raise UserError(
            f"discriminator multiscale_d (Multi-D) needs generator unet, not {g.name!r}"
        )
    scales = d.scales if isinstance(d, MultiScaleDiscriminatorOptions) else 0
    side = min(g.side_outputs, g.depth - 1)
    if side + 1 != scales:
        raise UserError(
            f"discriminator.scales is {scales} but the generator gives "
            f"{side + 1} scales (generator.side_outputs {g.side_outputs} + 1, at most depth): "
            "set generator.side_outputs = discriminator.scales - 1"
        )
