"""The model file format (layer 2): one format for training state and for the models users
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

The ``meta`` entry is a plain dict on disk (so every older reader keeps working);
:class:`ModelMeta` is its typed form: ``ModelMeta.from_dict`` accepts the dict of every file
written so far (missing keys are None, keys it does not know are kept in ``extra``) and
``to_dict`` gives the dict back.
"""

from __future__ import annotations

import io
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rscolor.config import ExperimentConfig, config_from_dict
from rscolor.errors import UserError
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
    return config_from_dict(ckpt["config"], source)


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
