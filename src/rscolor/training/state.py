"""The training state that makes a resume exact: RNG streams, the run's counters, and
what last.pt holds.

last.pt holds the weights, both optimizers and schedulers, the GradScaler and the EMA
(`GanStep.state_dict`), epoch / step / position in the epoch, the epoch's running loss
sums, the best score so far, the history and every rank's RNG states (`RunState`). The
sampler and the data augmentation are seeded by (seed, epoch, index), and the DataLoader
draws its base seed from its own generator, so a resumed run consumes the same random
numbers as an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rscolor.config import RUNTIME_FIELDS
from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig, upgraded
from rscolor.utils.dotted import flatten, unflatten


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # Training crops have one fixed size: let cuDNN pick its fastest kernels, unless the
    # run must be reproducible.
    torch.backends.cudnn.benchmark = not deterministic
    if deterministic:
        # cuBLAS reads this when its first handle is made (before any matmul here).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)


def rng_state() -> dict[str, Any]:
    """Every random stream, as tensors and plain data: it loads with weights_only=True."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "python": [version, list(internal), gauss_next],
        "numpy": {
            "kind": kind,
            "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore `rng_state()` (also the older form with numpy's own state tuple)."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        key = np.asarray(numpy_state["key"], dtype=np.int64).astype(np.uint32)
        numpy_state = (
            numpy_state["kind"],
            key,
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def resume_config(
    stored: dict[str, Any], current: ExperimentConfig
) -> tuple[dict[str, Any], list[str]]:
    """last.pt's config with the runtime fields of `current`; and the other fields that
    differ (ignored: changing them would not continue the same run)."""
    now = flatten(current.to_dict())
    merged = {
        k: (now[k] if k in RUNTIME_FIELDS and k in now else v)
        for k, v in flatten(upgraded(stored)).items()
    }
    ignored = sorted(k for k, v in now.items() if k not in RUNTIME_FIELDS and merged.get(k) != v)
    return unflatten(merged), ignored


@dataclass
class RunState:
    """Where a run is: its counters, best epoch so far, history and the running loss sums
    of the epoch in progress (all in last.pt)."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_score: float = math.nan
    best_epoch: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)
    sums: dict[str, float] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        """last.pt's keys for it (the names files written before this class use)."""
        return {
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "step": self.global_step,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "epoch_sums": self.sums,
        }

    @classmethod
    def from_state(cls, ckpt: dict[str, Any]) -> RunState:
        return cls(
            epoch=ckpt["epoch"],
            step_in_epoch=ckpt["step_in_epoch"],
            global_step=ckpt["step"],
            best_score=ckpt["best_score"],
            best_epoch=ckpt["best_epoch"],
            history=ckpt["history"],
            sums=dict(ckpt.get("epoch_sums") or {}),
        )

    def accumulate(self, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
            self.sums[f"n_{k}"] = self.sums.get(f"n_{k}", 0.0) + 1

    def epoch_means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.sums[f"n_{k}"] for k in self.sums if not k.startswith("n_")}


# What a last.pt holds beyond a model file, with the type each must have.
RESUME_KEYS: dict[str, type | tuple[type, ...]] = {
    "config": dict,
    "generator": dict,
    "opt_g": dict,
    "sched_g": dict,
    "rng": (dict, list),
    "epoch": int,
    "step_in_epoch": int,
    "step": int,
    "history": list,
    "meta": dict,
}


def check_resume_state(ckpt: dict[str, Any], path: Path) -> None:
    """A UserError unless `ckpt` is a training state: best.pt copied over last.pt (a model
    file, no optimizers) or a hand-edited file is one line, not a KeyError mid-resume."""
    for key, kind in RESUME_KEYS.items():
        if not isinstance(ckpt.get(key), kind):
            what = "missing" if key not in ckpt else f"a {type(ckpt[key]).__name__}"
            raise UserError(
                f"{path} is not a training state ({key} is {what}): --resume needs the run's "
                "own last.pt (a best.pt or exported model only starts a run: --init-from)"
            )
