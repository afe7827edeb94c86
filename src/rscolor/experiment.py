"""The experiment config, loaded from YAML: the shared sections of `rscolor.config` and the
networks' options, each architecture's own (`rscolor.models`: its options class next to
its network, picked by ``name`` through `models/registry.py`).

It sits above `models` (layer 2 of docs/architecture.md), so a new model adds its options
to its own file and one registry line, never to this file or to `config.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rscolor.config import (
    ColorSpaceName,
    DataConfig,
    LossConfig,
    OptimConfig,
    Strict,
    TrainConfig,
    canonical_names,
)
from rscolor.errors import UserError
from rscolor.models.joint_stream import JointStreamOptions
from rscolor.models.options import DiscriminatorOptions, GeneratorOptions
from rscolor.models.registry import (
    DISCRIMINATORS,
    GENERATORS,
    discriminator_options,
    generator_options,
)
from rscolor.utils.dotted import deep_merge

# Validation context: fields of another registered network are dropped, not refused (a
# config a run or model file recorded lists every option earlier versions had; a suite's
# overrides go to every method).
DROP_OTHERS = {"drop_other_options": True}


def _default_discriminator() -> DiscriminatorOptions:
    return discriminator_options({})


class ExperimentConfig(Strict):
    method: str = Field("jsdcgan", description="A name for tables and the model card.")
    color_space: ColorSpaceName = Field("lab", description="lab predicts ab; yuv UV; rgb 3 ch.")
    data: DataConfig = Field(default_factory=DataConfig)
    generator: SerializeAsAny[GeneratorOptions] = Field(
        default_factory=JointStreamOptions,
        description="The generator's options: `name` picks its options class (registry).",
    )
    discriminator: SerializeAsAny[DiscriminatorOptions] = Field(
        default_factory=_default_discriminator,
        description="The discriminator's options: `name` picks them (null = none).",
    )
    loss: LossConfig = Field(default_factory=LossConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    gsd_note: str = Field(
        "", description="Free text on the training imagery's ground sampling distance."
    )

    @field_validator("generator", mode="before")
    @classmethod
    def _generator(cls, value: Any, info: ValidationInfo) -> Any:
        return generator_options(value, _drop_others(info))

    @field_validator("discriminator", mode="before")
    @classmethod
    def _discriminator(cls, value: Any, info: ValidationInfo) -> Any:
        return discriminator_options(value, _drop_others(info))

    @model_validator(mode="after")
    def _crop_fits_generator(self) -> ExperimentConfig:
        problem = self.generator.too_small(self.data.crop_size)
        if problem:
            raise ValueError(problem)
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def section_models() -> dict[str, list[type[BaseModel]]]:
    """Each config section's classes: one for a shared section, every registered options
    class for ``generator`` and ``discriminator`` (for checks over all fields)."""
    networks = {"generator": GENERATORS, "discriminator": DISCRIMINATORS}
    out: dict[str, list[type[BaseModel]]] = {}
    for section, info in ExperimentConfig.model_fields.items():
        if section in networks:
            classes = [entry.options for entry in networks[section].values()]
            out[section] = list(dict.fromkeys(classes))
        elif isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            out[section] = [info.annotation]
    return out


def _drop_others(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("drop_other_options"))


def config_from_dict(
    raw: dict[str, Any], source: str = "config", drop_others: bool = False
) -> ExperimentConfig:
    """`raw` as a config, or a one-line `UserError` naming `source` and the field.
    `drop_others`: fields of a network other than the one named are dropped (`DROP_OTHERS`)."""
    try:
        return ExperimentConfig.model_validate(raw, context=DROP_OTHERS if drop_others else None)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"{p}: " for p in [".".join(map(str, first["loc"]))] if p)
        raise UserError(f"{source}: {where}{first['msg']}") from None


def recorded_config(raw: dict[str, Any], source: str = "config") -> ExperimentConfig:
    """A config a run or a model file recorded (any earlier version's): renamed names as
    now, the options of networks other than the one named dropped."""
    return config_from_dict(canonical_names(raw), source, drop_others=True)


def upgraded(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded config (last.pt, done.json) as this version reads it: renamed names,
    only the named networks' options, fields added since at their defaults (not another
    run); only renamed if it no longer validates."""
    try:
        return recorded_config(recorded).to_dict()
    except UserError:
        return canonical_names(recorded)


def load_config(
    path: str | Path, overrides: dict[str, Any] | None = None, drop_others: bool = False
) -> ExperimentConfig:
    """Load a YAML config; `overrides` is a nested dict merged on top. `drop_others`: an
    override (or field) of a network other than the one named is dropped (a suite's
    overrides, given for every method), not an error."""
    path = Path(path)
    if not path.is_file():
        moved = " (configs/ is in folders now: see configs/README.md)"
        raise UserError(
            f"config file not found: {path}{moved if path.parent.name == 'configs' else ''}"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text (a YAML config is text)") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    if overrides:
        raw = deep_merge(raw, overrides)
    return config_from_dict(raw, str(path), drop_others)
