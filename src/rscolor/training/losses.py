"""The paper's objective (Eq. 3, 4): conditional GAN with binary cross-entropy + lambda L1."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from rscolor.color.ciede import ciede2000_ab
from rscolor.models.chroma_bins import ChromaBins, soft_targets


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


def chroma_weights(target: torch.Tensor, strength: float) -> torch.Tensor | None:
    """Per-pixel L1 weights that favour colourful pixels: 1 + strength * c / mean(c), with
    c the length of the target's chroma vector, normalised to a mean of 1 over the batch
    (the loss keeps its scale). Scenes are mostly grey, so a plain L1 is won by muted
    predictions; this is a regression form of colour rebalancing (Zhang et al. 2016).
    None when strength is 0."""
    if strength <= 0:
        return None
    chroma = torch.linalg.vector_norm(target.float(), dim=1, keepdim=True)
    weight = 1.0 + strength * chroma / chroma.mean().clamp_min(1e-6)
    return weight / weight.mean()


def _at_scale(target: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """The target pooled to a (coarser) side output's size."""
    if pred.shape[-2:] == target.shape[-2:]:
        return target
    return F.adaptive_avg_pool2d(target, (pred.shape[-2], pred.shape[-1]))


def ciede_loss(
    predictions: list[torch.Tensor],
    target: torch.Tensor,
    ab_scale: float,
    chroma_weight: float = 0.0,
) -> torch.Tensor:
    """Mean CIEDE2000 (at the truth's lightness) of Lab chroma outputs normalised by
    `ab_scale`; side outputs against the pooled target, and pixels weighted by their true
    chroma (`chroma_weights`), as in `l1_loss`."""
    weight = chroma_weights(target, chroma_weight)
    losses = []
    for pred in predictions:
        delta = ciede2000_ab(pred * ab_scale, _at_scale(target, pred) * ab_scale)
        if weight is not None:
            delta = delta * _at_scale(weight, pred)[:, 0]
        losses.append(delta.mean())
    return torch.stack(losses).mean()


def l1_loss(
    predictions: list[torch.Tensor], target: torch.Tensor, chroma_weight: float = 0.0
) -> torch.Tensor:
    """L1 to the target; side outputs (coarser scales) are compared with the pooled target.
    `chroma_weight` > 0 weights pixels by their true chroma (`chroma_weights`)."""
    weight = chroma_weights(target, chroma_weight)
    losses = []
    for pred in predictions:
        t = _at_scale(target, pred)
        w = None if weight is None else _at_scale(weight, pred)
        diff = (pred.float() - t.float()).abs()
        losses.append((diff if w is None else diff * w).mean())
    return torch.stack(losses).mean()


def bins_loss(
    scores: torch.Tensor, target: torch.Tensor, head: ChromaBins, chroma_weight: float = 0.0
) -> torch.Tensor:
    """Cross-entropy of a 'bins' head's scores (B, Q, H, W) against the soft-encoded
    target (a Gaussian of half a grid step), pixels weighted by their true chroma
    (`chroma_weights`, colour rebalancing) as in `l1_loss`."""
    target = _at_scale(target, scores)
    soft = soft_targets(target, head.centres, head.step / 2 / head.ab_scale)
    ce = -(soft * F.log_softmax(scores.float(), dim=1)).sum(1)
    weight = chroma_weights(target, chroma_weight)
    return (ce if weight is None else ce * weight[:, 0]).mean()


@dataclass(frozen=True)
class Generated:
    """A batch and what the generator made of it: what the loss terms read."""

    lum: torch.Tensor
    target: torch.Tensor
    fakes: list[torch.Tensor]
    logits: torch.Tensor | None  # the scene-class head's, with loss.class_weight
    labels: torch.Tensor | None


TermFn = Callable[[Generated, float], torch.Tensor | None]  # a term: None when off


@dataclass(frozen=True)
class LossTerm:
    """One named, weighted term of the generator's loss; `name` is its key in the step's
    logs and history.csv."""

    name: str
    weight: float
    value: torch.Tensor

    def weighted(self) -> torch.Tensor:
        return self.weight * self.value


def total_loss(terms: list[LossTerm]) -> torch.Tensor:
    """The weighted sum of the terms, added in their order (the first one always there)."""
    first, *rest = terms
    total = first.weighted()
    for term in rest:
        total = total + term.weighted()
    return total


def loss_logs(
    terms: list[LossTerm], total: torch.Tensor, d_loss: torch.Tensor | None
) -> dict[str, float]:
    """The step's losses as floats, in history.csv's column order: the first term (l1),
    the generator's total (g_loss), the other terms, the discriminator's (d_loss)."""
    first, *rest = terms
    logs = {first.name: float(first.value.detach()), "g_loss": float(total.detach())}
    logs.update((term.name, float(term.value.detach())) for term in rest)
    if d_loss is not None:
        logs["d_loss"] = float(d_loss.detach())
    return logs
