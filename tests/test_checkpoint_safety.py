"""Checkpoints load with weights_only=True: the resume state needs no arbitrary unpickling,
and older last.pt files (numpy's RNG state as an array) still resume."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from rscolor.errors import UserError
from rscolor.modelfile import load_checkpoint, save_checkpoint
from rscolor.training.state import rng_state, set_rng_state


def draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_loads_with_plain_weights_only_and_restores(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"rng": [rng_state()]})
    expected = draws()
    raw = torch.load(path, weights_only=True)  # torch's own allow-list, nothing added
    set_rng_state(raw["rng"][0])
    assert draws() == expected


def test_legacy_numpy_rng_state_still_resumes(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    legacy = {"python": random.getstate(), "numpy": np.random.get_state(),
              "torch": torch.get_rng_state()}  # fmt: skip
    save_checkpoint(path, {"rng": legacy})
    expected = draws()
    set_rng_state(load_checkpoint(path)["rng"])
    assert draws() == expected


def test_a_pickled_object_is_refused_naming_what_it_imports(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "rscolor-checkpoint", "x": Path("/")}, path)
    with pytest.raises(UserError, match="refused to load .*pathlib"):
        load_checkpoint(path)
