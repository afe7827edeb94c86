"""Checkpoint files: one format for training state and for the models users run.

A checkpoint is a dict saved with ``torch.save`` and written atomically::

    format, version, config (the full ExperimentConfig), generator (state dict),
    meta (method, train_size, mean_ab, color_space, ...), and for training:
    discriminator, opt_g, opt_d, sched_g, sched_d, epoch, step, step_in_epoch,
    best_score, best_epoch, rng (python, numpy, torch, cuda).

Files are read with ``torch.load(weights_only=True)``: tensors and plain containers only, so a
crafted file cannot run code. The resume state is stored in that form (see
``rscolor.training.trainer.rng_state``); last.pt files written before kept numpy's RNG state
as an array, which is allowed by name (``_legacy_numpy_globals``) and nothing else.
"""

from __future__ import annotations

import io
import pickle
import re
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
    generator: nn.Module, cfg: ExperimentConfig, meta: dict[str, Any], half: bool = False
) -> dict[str, Any]:
    """What a deployed model needs: config, generator weights (fp16 if `half`), meta."""
    state = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().clone()
        for k, v in generator.state_dict().items()
    }
    return {"config": cfg.to_dict(), "generator": state, "meta": meta}
