"""An exponential moving average (EMA) of the generator's weights.

GAN training at small budgets swings from epoch to epoch (validation CIEDE2000 moves by
about 1 between epochs in our CPU runs); the average of the recent weights is steadier
and usually better than any single snapshot. Built on ``torch.optim.swa_utils``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

Tensors: TypeAlias = Sequence[torch.Tensor]
WARMUP = 10  # decay ramps as (1 + n) / (WARMUP + n): the first updates follow the model


def ema_update(decay: float) -> Callable[[Tensors, Tensors, object], None]:
    """In-place EMA step for AveragedModel (``multi_avg_fn``): floating tensors move
    towards the model by (1 - decay); integer buffers (BatchNorm's counters) are copied.
    The decay warms up, so the average does not keep the random start for long."""

    def update(averaged: Tensors, current: Tensors, n: object) -> None:
        steps = float(n)  # type: ignore[arg-type]
        weight = 1.0 - min(decay, (1.0 + steps) / (WARMUP + steps))
        for avg, cur in zip(averaged, current, strict=True):
            if avg.is_floating_point():
                avg.lerp_(cur, weight)
            else:
                avg.copy_(cur)

    return update


def make_ema(model: nn.Module, decay: float) -> AveragedModel:
    """A frozen copy of `model` whose weights and BatchNorm statistics track its EMA."""
    ema = AveragedModel(model, multi_avg_fn=ema_update(decay), use_buffers=True)
    ema.requires_grad_(False)
    ema.eval()
    return ema
