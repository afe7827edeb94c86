"""The model file format (layer 3): one format for training state and for the models users
run. Above ``models`` (it builds the generator a file describes), below ``inference`` and
``training``, which both read and write it.

A checkpoint is a dict saved with ``torch.save`` and written atomically::

    format, version, config (the full ExperimentConfig), generator (state dict),
    meta (method, train_size, mean_ab, color_space, ...), and for training:
    discriminator, opt_g, opt_d, sched_g, sched_d, epoch, step, step_in_epoch,
    best_score, best_epoch, rng (python, numpy, torch, cuda).

Files are read with ``torch.load(weights_only=True)``: tensors and plain containers only, so a
crafted file cannot run code. The resume state is stored in that form (see
``rscolor.training.trainer.rng_state``); last.pt files written before kept numpy's RNG state
as an array, which is allowed by name (``_legacy_numpy_globals``) and nothing else.

The ``meta`` entry is a plain dict on disk (so every older reader, and the QGIS plugin
reading an ONNX export, keeps working); :class:`ModelMeta` is its typed form and the one
description of a model in the code: the trainer makes it, a file stores its ``to_dict``,
``Colorizer`` holds it (``calibrated`` makes a new one), ONNX export carries it and
``rscolor info`` prints it. ``ModelMeta.from_dict`` accepts the dict of every file written
so far (missing keys are None, keys it does not know are kept in ``extra``; every shipped
model file loads, tests/test_shipped_model.py).
"""

from __future__ import annotations

import io
import math
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig, recorded_config
from rscolor.models import build_generator
from rscolor.utils.io import atomic_write_bytes

FORMAT = "rscolor-checkpoint"
VERSION = 1


@dataclass(frozen=True)
class ModelMeta:
    """What a model file records about the model beside its config and weights.

    Every field is optional: files written by older versions lack the later ones (and the
    shipped models of issue 6 on add ``saturation`` and ``max_chroma`` after training)."""

    method: str | None = None
    color_space: str | None = None
    train_size: int | None = None  # the training crop size
    mean_ab: tuple[float, ...] | None = None  # the training data's mean Lab chroma
    best_epoch: int | None = None
    best_score: float | None = None
    select_metric: str | None = None  # what picked the best epoch
    data: str | None = None  # the training data folder's name
    gsd_note: str | None = None
    gsd_m: float | None = None  # training ground sampling distance, metres per pixel
    scene_px: int | None = None  # training scenes' typical side, pixels
    scene_scale: float | None = None  # older models: a fixed working scale
    saturation: float | None = None  # chroma gain around mean_ab (None: 1)
    max_chroma: float | None = None  # Lab chroma cap (None or 0: no cap)
    flip_average: bool | None = None  # test-time flip averaging
    chroma_curve: list[list[float]] | None = None  # quantile chroma curve (x knots, y knots)
    encoder_init: str | None = None  # where a pretrained encoder's initial weights came from
    classes: list[str] | None = None  # the scene-class head's classes (training folders)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know

    @classmethod
    def known_keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "extra")

    @classmethod
    def from_dict(cls, meta: Mapping[str, Any] | None) -> ModelMeta:
        """The typed form of a file's ``meta`` dict (None or {} for files without one)."""
        meta = dict(meta or {})
        known = {k: meta.pop(k) for k in cls.known_keys() if k in meta}
        mean_ab = known.get("mean_ab")
        if mean_ab is not None:
            known["mean_ab"] = tuple(float(v) for v in mean_ab)
        return cls(**known, extra=meta)

    def to_dict(self) -> dict[str, Any]:
        """The dict a file stores: the fields that are set (in declaration order; mean_ab as
        a list, as the trainer writes it), then the unknown keys as they were read."""
        out: dict[str, Any] = {}
        for name in self.known_keys():
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if name == "mean_ab" else value
        out.update(self.extra)
        return out


# What a model file's meta may hold. Numbers: (whole numbers only, low, high); None = no
# bound. best_score is NaN until a run's first validation. Text fields are plain strings.
META_NUMBERS: dict[str, tuple[bool, float | None, float | None]] = {
    "train_size": (True, 8, 65536),
    "best_epoch": (True, -1, None),  # -1 in a last.pt before its first validation
    "best_score": (False, None, None),
    "gsd_m": (False, 1e-6, 1e7),
    "scene_px": (True, 0, 2**31),  # 0: unknown (no readable training image sizes)
    "scene_scale": (False, 1 / 1024, 4),
    "saturation": (False, 0, 4),  # as --saturation
    "max_chroma": (False, 0, 110),  # as --max-chroma; 0 = no cap
}
META_TEXT = ("method", "color_space", "select_metric", "data", "gsd_note", "encoder_init")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_problem(name: str, value: Any) -> str | None:
    whole, low, high = META_NUMBERS[name]
    if not _is_number(value):
        return f"expected a number, got {type(value).__name__}"
    if name != "best_score" and not math.isfinite(value):
        return f"expected a finite number, got {value}"
    if whole and float(value) != int(value):
        return f"expected a whole number, got {value}"
    if low is not None and value < low:
        return f"expected at least {low:g}, got {value:g}"
    if high is not None and value > high:
        return f"expected at most {high:g}, got {value:g}"
    return None


def _numbers(value: Any, count: tuple[int, int], limit: float = 1e6) -> bool:
    """Whether `value` is a list of `count` (min, max) finite numbers within +-limit."""
    return (
        isinstance(value, list | tuple)
        and count[0] <= len(value) <= count[1]
        and all(_is_number(v) and math.isfinite(v) and abs(v) <= limit for v in value)
    )


def meta_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be meta field `name` (None: it can; unknown keys always can)."""
    if value is None:
        return None
    if name in META_NUMBERS:
        return _number_problem(name, value)
    if name in META_TEXT and not isinstance(value, str):
        return f"expected text, got {type(value).__name__}"
    names = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if name == "classes" and not names:
        return "expected a list of class names"
    if name == "flip_average" and not isinstance(value, bool):
        return f"expected true or false, got {value!r:.40}"
    if name == "mean_ab" and not _numbers(value, (2, 3), 128):
        return "expected 2 or 3 finite Lab values"
    if name == "chroma_curve" and not (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_numbers(v, (2, 4096)) for v in value)
    ):
        return "expected two lists of finite knots"
    return None


def checked_meta(meta: Any, source: str) -> ModelMeta:
    """A model file's ``meta`` validated (types, finite, ranges) and typed; a UserError
    naming the field otherwise (a NaN saturation would silently give a black picture)."""
    if meta is None:
        return ModelMeta()
    if not isinstance(meta, Mapping):
        raise UserError(f"{source}: model metadata: expected a mapping, got {type(meta).__name__}")
    for name, value in meta.items():
        problem = meta_problem(str(name), value)
        if problem:
            raise UserError(f"{source}: model metadata: {name}: {problem}")
    return ModelMeta.from_dict(meta)


def check_model(ckpt: Mapping[str, Any], source: str) -> ModelMeta:
    """A loaded model file's parts (config, generator weights, meta) of the right types;
    its validated meta. One UserError line for a hand-made or damaged file."""
    for key in ("config", "generator"):
        if key not in ckpt:
            raise UserError(f"{source}: not a complete rscolor model (no {key})")
    weights = ckpt["generator"]
    if not isinstance(ckpt["config"], dict):
        raise UserError(f"{source}: its config is not a mapping")
    if not isinstance(weights, dict) or not all(torch.is_tensor(v) for v in weights.values()):
        raise UserError(f"{source}: its generator weights are not a mapping of tensors")
    return checked_meta(ckpt.get("meta"), source)


def check_onnx_info(info: Any, source: str) -> tuple[ExperimentConfig, ModelMeta, int]:
    """(config, meta, size multiple) from an ONNX file's ``rscolor`` JSON, validated."""
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise UserError(f"{source}: not an rscolor ONNX model (its metadata has no config)")
    multiple: Any = info.get("size_multiple")
    if not (_is_number(multiple) and multiple == int(multiple) and 1 <= multiple <= 4096):
        raise UserError(f"{source}: model metadata: size_multiple: expected 1 to 4096")
    cfg = recorded_config(info["config"], f"{source}: its config")
    return cfg, checked_meta(info.get("meta"), source), int(multiple)


def model_meta(ckpt: Mapping[str, Any]) -> ModelMeta:
    """The typed ``meta`` of a loaded model file."""
    return ModelMeta.from_dict(ckpt.get("meta"))


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    body = {"format": FORMAT, "version": VERSION, **payload}
    buffer = io.BytesIO()
    torch.save(body, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _legacy_numpy_globals() -> list[Any]:
    """What unpickling a plain numpy array needs (old last.pt RNG states): no callables
    beyond numpy's array reconstructor, which builds data, never runs code."""
    multiarray = getattr(np, "_core", None) or np.core  # numpy 2 moved it
    reconstruct = multiarray.multiarray._reconstruct
    return [reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def _torch_load(path: Path, map_location: str | torch.device) -> Any:
    with torch.serialization.safe_globals(_legacy_numpy_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


def _unpickling_message(path: Path, text: str) -> str:
    """One line for torch's multi-line weights-only refusal: code refused, or a bad file."""
    found = re.search(r"GLOBAL (\S+)", text)
    if found or "global" in text.lower():
        what = f"it would import {found.group(1)}" if found else "it holds pickled objects"
        return (
            f"refused to load {path}: {what}, i.e. it could run code; "
            "only tensors and plain data load"
        )
    return f"cannot read checkpoint {path}: corrupt, or not a torch file"


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely: a file that holds anything beyond tensors and plain data
    (pickled code or classes) is refused with a UserError before anything in it runs."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        ckpt = _torch_load(path, map_location)
    except pickle.UnpicklingError as exc:
        raise UserError(_unpickling_message(path, str(exc))) from None
    except Exception as exc:  # torch raises many types for a bad file
        raise UserError(f"cannot read checkpoint {path}: {exc.__class__.__name__}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"{path} is not an rscolor checkpoint")
    return ckpt


def checkpoint_config(ckpt: dict[str, Any], source: str = "checkpoint") -> ExperimentConfig:
    if not isinstance(ckpt.get("config"), dict):
        raise UserError(f"{source}: not a complete rscolor model (no config)")
    return recorded_config(ckpt["config"], source)


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with floating tensors in fp32 (exported models store fp16)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def generator_from_checkpoint(ckpt: dict[str, Any], source: str = "checkpoint") -> nn.Module:
    """Build the generator the checkpoint's config describes and load its weights."""
    cfg = checkpoint_config(ckpt, source)
    generator = build_generator(cfg)
    try:
        generator.load_state_dict(float_state(ckpt["generator"]))
    except RuntimeError:
        raise UserError(
            f"{source}: its weights do not match the architecture in its config "
            f"(generator {cfg.generator.name})"
        ) from None
    return generator


def inference_payload(
    generator: nn.Module,
    cfg: ExperimentConfig,
    meta: Mapping[str, Any] | ModelMeta,
    half: bool = False,
) -> dict[str, Any]:
    """What a deployed model needs: config, generator weights (fp16 if `half`), meta (a
    dict is stored as given; a :class:`ModelMeta` as its ``to_dict``)."""
    state = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().clone()
        for k, v in generator.state_dict().items()
    }
    meta_dict = meta.to_dict() if isinstance(meta, ModelMeta) else meta
    return {"config": cfg.to_dict(), "generator": state, "meta": meta_dict}
