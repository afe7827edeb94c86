"""LCFE: Low-level Correlation Feature Extraction (paper Sec. 3.1, Eq. 1).

    F_c = conv1x1(F_i)^T conv1x1'(F_i)                 (N x N spatial correlation)
    F_s = F_i * sigmoid(conv7x7([max_c F_i; avg_c F_i]))  (CBAM spatial attention)
    F_o = F_i + softmax(F_c / sqrt(d_k)) F_s

Memory bound: Eq. 1 is quadratic in the number of positions N (4096 x 4096 per image at
256 px, far more on a large tile). Keys and values are average-pooled to at most
`max_tokens` positions (M), so the correlation is N x M; the queries keep full resolution,
and in eager mode they are processed `query_chunk` at a time, so the attention buffer is at
most query_chunk x M per image whatever the input size. When N <= max_tokens nothing is
pooled and the module is exactly Eq. 1.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def pooled_grid(h: int, w: int, max_tokens: int) -> tuple[int, int]:
    """The largest (h', w') <= (h, w) with h' * w' <= max_tokens and about the same aspect."""
    if h * w <= max_tokens:
        return h, w
    factor = math.sqrt(h * w / max_tokens)
    return max(1, min(h, int(h / factor))), max(1, min(w, int(w / factor)))


class SpatialAttention(nn.Module):
    """CBAM's spatial attention (Woo et al. 2018): a sigmoid mask from channel max and mean."""

    def __init__(self, kernel: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.conv(stats))


class LCFE(nn.Module):
    def __init__(
        self, channels: int, dk: int = 32, max_tokens: int = 1024, query_chunk: int = 4096
    ) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, dk, 1)
        self.key = nn.Conv2d(channels, dk, 1)
        self.spatial = SpatialAttention()
        self.max_tokens = max_tokens
        self.query_chunk = query_chunk

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f.shape
        salient = self.spatial(f)
        grid = pooled_grid(h, w, self.max_tokens)
        if grid != (h, w):
            f_kv, salient_kv = F.adaptive_avg_pool2d(f, grid), F.adaptive_avg_pool2d(salient, grid)
        else:
            f_kv, salient_kv = f, salient
        q = self.query(f).flatten(2).transpose(1, 2).unsqueeze(1)  # B 1 N dk
        k = self.key(f_kv).flatten(2).transpose(1, 2).unsqueeze(1)  # B 1 M dk
        v = salient_kv.flatten(2).transpose(1, 2).unsqueeze(1)  # B 1 M C
        n = q.shape[2]
        if n > self.query_chunk and not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            parts = [
                F.scaled_dot_product_attention(q[:, :, i : i + self.query_chunk], k, v)
                for i in range(0, n, self.query_chunk)
            ]
            out = torch.cat(parts, 2)
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(dk)) v
        return f + out.squeeze(1).transpose(1, 2).reshape(b, c, h, w)
