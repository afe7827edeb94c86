"""The torch device of ``--device`` / ``train.device``, for inference and training alike."""

from __future__ import annotations

import re

import torch

from rscolor.config import DEVICE_PATTERN
from rscolor.errors import UserError


def pick_device(name: str = "auto") -> torch.device:
    """--device / train.device: auto, cpu, mps, cuda or cuda:N (one-line error otherwise)."""
    if not re.match(DEVICE_PATTERN, name):
        raise UserError(f"unknown device {name!r}: auto, cpu, cuda or cuda:N")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("CUDA was asked for but is not available")
    return torch.device(name)
