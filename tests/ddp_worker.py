"""Runs ``python -m rscolor ARGS`` (exactly what ``torchrun -m rscolor`` runs) in one
torchrun process, with two test-only hooks set by environment variables:

- RSCOLOR_TEST_DUMP=DIR: when training ends (or stops), every rank writes
  DIR/rank<R>.pt with its own generator / discriminator / optimizer state, its step and
  the (epoch, index) samples it trained on, so the test can compare ranks.
- RSCOLOR_TEST_NAN=RANK:STEP: on that rank only, the L1 loss is NaN from that 0-based
  step on (the other ranks' losses stay finite).
- RSCOLOR_TEST_KILL=STEP: every rank dies (os._exit, no clean-up, like SIGKILL) when
  STEP steps are done, before the next one starts.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import torch

from rscolor.data.dataset import ColorizationDataset
from rscolor.training import step as step_mod
from rscolor.training import trainer as trainer_mod

RANK = int(os.environ.get("RANK", "0"))
SEEN: list[tuple[int, int]] = []


def record_samples() -> None:
    real = ColorizationDataset.__getitem__

    def getitem(self, key):
        if self.train:
            SEEN.append(tuple(key))
        return real(self, key)

    ColorizationDataset.__getitem__ = getitem


def dump_at_end(folder: Path) -> None:
    real = trainer_mod.Trainer.fit

    def fit(self, resume=False):
        try:
            return real(self, resume)
        finally:
            torch.save(
                {
                    "generator": self.step.g_raw.state_dict(),
                    "discriminator": d.state_dict() if (d := self.step.d_raw) is not None else None,
                    "opt_g": self.step.opt_g.state_dict(),
                    "step": self.state.global_step,
                    "seen": SEEN,
                },
                folder / f"rank{RANK}.pt",
            )

    trainer_mod.Trainer.fit = fit


def nan_from(step: int) -> None:
    real = step_mod.l1_loss
    calls = {"n": 0}

    def l1(predictions, target, *args):
        loss = real(predictions, target, *args)
        calls["n"] += 1
        return loss * float("nan") if calls["n"] > step else loss

    step_mod.l1_loss = l1


def die_at(step: int) -> None:
    real = trainer_mod.Trainer.train_step

    def train_step(self, lum, target, labels=None):
        if self.state.global_step == step:
            os._exit(9)
        return real(self, lum, target, labels)

    trainer_mod.Trainer.train_step = train_step


if __name__ == "__main__":
    if os.environ.get("RSCOLOR_TEST_KILL"):
        die_at(int(os.environ["RSCOLOR_TEST_KILL"]))
    if os.environ.get("RSCOLOR_TEST_DUMP"):
        record_samples()
        dump_at_end(Path(os.environ["RSCOLOR_TEST_DUMP"]))
    if os.environ.get("RSCOLOR_TEST_NAN"):
        rank, step = map(int, os.environ["RSCOLOR_TEST_NAN"].split(":"))
        if rank == RANK:
            nan_from(step)
    sys.argv = ["rscolor", *sys.argv[1:]]
    runpy.run_module("rscolor", run_name="__main__", alter_sys=True)
