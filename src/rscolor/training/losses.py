"""The paper's objective (Eq. 3, 4): conditional GAN with binary cross-entropy + lambda L1."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def gan_loss(logits: list[torch.Tensor], real: bool, real_label: float = 1.0) -> torch.Tensor:
    """BCE on logits, averaged over the discriminator's outputs (one per scale).

    For the generator this is -log D(G(x)) (non-saturating, Eq. 3); `real_label` < 1 is
    one-sided label smoothing for the discriminator's real targets (Nazeri: 0.9).
    """
    value = real_label if real else 0.0
    losses = [
        F.binary_cross_entropy_with_logits(x.float(), torch.full_like(x.float(), value))
        for x in logits
    ]
    return torch.stack(losses).mean()


def l1_loss(predictions: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """L1 to the target; side outputs (coarser scales) are compared with the pooled target."""
    losses = []
    for pred in predictions:
        t = target
        if pred.shape[-2:] != target.shape[-2:]:
            t = F.adaptive_avg_pool2d(target, pred.shape[-2:])
        losses.append((pred.float() - t.float()).abs().mean())
    return torch.stack(losses).mean()
