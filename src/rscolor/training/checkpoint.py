"""Checkpoint files: one format for training state and for the models users run.

A checkpoint is a dict saved with ``torch.save`` and written atomically::

    format, version, config (the full ExperimentConfig), generator (state dict),
    meta (method, train_size, mean_ab, color_space, ...), and for training:
    discriminator, opt_g, opt_d, sched_g, sched_d, epoch, step, step_in_epoch,
    best_score, best_epoch, rng (python, numpy, torch, cuda).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

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


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
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
