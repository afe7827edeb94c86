"""The torch device of ``--device`` / ``train.device``, for inference and training alike."""

from __future__ import annotations

import os
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
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("MPS (Apple GPU) was asked for but this torch build cannot use it")
    return torch.device(name)


def check_threads(threads: int | None, option: str = "--threads") -> None:
    """CPU threads at most the machine's cores (10000 threads allocate tens of GB; more
    crash the process)."""
    cores = os.cpu_count() or 1
    if threads is not None and not 1 <= threads <= cores:
        raise UserError(f"{option} {threads}: expected 1 to {cores} (this machine's CPU cores)")
