"""A classification head for chroma (Zhang et al. 2016, "Colorful Image Colorization").

Instead of regressing a, b, the head scores every point of an ab grid (step `step`, chroma
at most `max_chroma`, in Lab units) and decodes the scores by their *annealed mean*: the
expectation of the bin centres under softmax(scores / T). Trained with cross-entropy on
soft-encoded targets (`bins_loss`), the scores keep every plausible colour of a pixel
instead of their average; T < 1 then moves the output towards the likeliest colour where
the model is sure and keeps it near the mean where it is not. A regression loss drives
pixels to the (muted) conditional mean everywhere, which is why plain L1 models are grey.

`from_regression` turns a trained regression head into this one exactly enough to start
fine-tuning from it: with scores s_q = (c_q . m - |c_q|^2 / 2) / sigma^2, linear in the
regression output m, softmax(s) is a Gaussian of width sigma around m over the grid.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def ab_grid(step: float, max_chroma: float) -> torch.Tensor:
    """Bin centres (Q, 2) in Lab units: the points of a square grid of `step` with chroma
    at most `max_chroma` (step 10, max 60: 113 bins)."""
    n = int(max_chroma // step)
    axis = torch.arange(-n, n + 1, dtype=torch.float32) * step
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([a.flatten(), b.flatten()], 1)
    return points[torch.linalg.vector_norm(points, dim=1) <= max_chroma + 1e-6]


class ChromaBins(nn.Module):
    """ReLU -> 3x3 conv to one score per ab bin -> annealed mean, returned normalised by
    `ab_scale` (as the regression heads' outputs are). The last training forward's scores
    stay in `scores` for `bins_loss`."""

    def __init__(
        self, in_ch: int, ab_scale: float, step: float, max_chroma: float, temperature: float
    ) -> None:
        super().__init__()
        centres = ab_grid(step, max_chroma)
        self.centres: torch.Tensor
        self.register_buffer("centres", centres / ab_scale, persistent=False)
        self.ab_scale = float(ab_scale)
        self.step = float(step)
        self.temperature = float(temperature)
        self.conv = nn.Conv2d(in_ch, len(centres), 3, 1, 1)
        self.scores: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.conv(F.relu(x))
        self.scores = scores if self.training else None
        probs = torch.softmax(scores.float() / self.temperature, dim=1)
        return torch.einsum("bqhw,qc->bchw", probs, self.centres).to(x.dtype)

    @torch.no_grad()
    def from_regression(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Scores from a 2-channel regression conv (`weight` (2, C, k, k), `bias` (2,)) whose
        output m is a, b / ab_scale: s_q = (c_q . m - |c_q|^2 / 2) / sigma^2, sigma = step
        (all in Lab units)."""
        centres = self.centres * self.ab_scale  # (Q, 2), Lab units
        sigma2 = self.step**2
        self.conv.weight.copy_(
            torch.einsum("qc,cikl->qikl", centres, weight) * self.ab_scale / sigma2
        )
        assert self.conv.bias is not None
        self.conv.bias.copy_((centres @ bias * self.ab_scale - 0.5 * (centres**2).sum(1)) / sigma2)


def soft_targets(target: torch.Tensor, centres: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, Q, H, W) target distributions: a Gaussian of width `sigma` (same units as
    `centres`) around each true a, b over the bins (Zhang et al.'s soft encoding, on all
    bins instead of the 5 nearest)."""
    t = target.float()
    dist2 = (
        (t**2).sum(1, keepdim=True)
        - 2 * torch.einsum("bchw,qc->bqhw", t, centres)
        + (centres**2).sum(1)[None, :, None, None]
    )  # (B, Q, H, W)
    return torch.softmax(-dist2 / (2 * sigma**2), dim=1)


def load_regression_generator(model: nn.Module, state: dict[str, torch.Tensor]) -> bool:
    """Load a generator trained with a regression head (tanh or bounded: ``head.1`` is its
    2-channel conv) into `model`, whose head is `ChromaBins`, converting the head with
    `ChromaBins.from_regression`. False (nothing loaded) when the two do not match so."""
    head = getattr(model, "head", None)
    weight, bias = state.get("head.1.weight"), state.get("head.1.bias")
    if not isinstance(head, ChromaBins) or weight is None or bias is None:
        return False
    if weight.shape != (2, *head.conv.weight.shape[1:]):
        return False
    body = {k: v for k, v in state.items() if not k.startswith("head.")}
    missing, unexpected = model.load_state_dict(body, strict=False)
    if unexpected or any(not k.startswith("head.") for k in missing):
        return False
    head.from_regression(weight.float(), bias.float())
    return True


def set_temperature(model: nn.Module, temperature: float) -> int:
    """Set the annealed-mean temperature of every `ChromaBins` head in `model` (for sweeps
    on validation); how many there were."""
    heads = [m for m in model.modules() if isinstance(m, ChromaBins)]
    for head in heads:
        head.temperature = float(temperature)
    return len(heads)
