"""GSM: Gated Selection Module (paper Sec. 3.2, Eq. 2).

    X = (1 + G_i) X_i + (1 - G_i) G_a X_a

Gates follow Gated Fully Fusion (Li et al., AAAI 2020): G = sigmoid(conv1x1(X)), one
channel broadcast over channels (``gate='sigmoid'``, default). The paper's text says
softmax; ``gate='softmax'`` normalises the two streams' gate logits against each other per
pixel instead.
"""

from __future__ import annotations

import torch
from torch import nn


class GatedSelection(nn.Module):
    def __init__(self, channels: int, gate: str = "sigmoid") -> None:
        super().__init__()
        if gate not in ("sigmoid", "softmax"):
            raise ValueError(f"unknown GSM gate {gate!r}")
        self.gate = gate
        self.gate_micro = nn.Conv2d(channels, 1, 1)
        self.gate_macro = nn.Conv2d(channels, 1, 1)

    def gates(self, x_i: torch.Tensor, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logit_i, logit_a = self.gate_micro(x_i), self.gate_macro(x_a)
        if self.gate == "sigmoid":
            return torch.sigmoid(logit_i), torch.sigmoid(logit_a)
        weights = torch.softmax(torch.cat([logit_i, logit_a], 1), 1)
        return weights[:, :1], weights[:, 1:]

    def forward(self, x_i: torch.Tensor, x_a: torch.Tensor) -> torch.Tensor:
        g_i, g_a = self.gates(x_i, x_a)
        # addcmul: one full-size temporary fewer than the literal formula (large tiles).
        return torch.addcmul(x_i * (1 + g_i), x_a, (1 - g_i) * g_a)
