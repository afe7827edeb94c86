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

Export (``torch.onnx.export(dynamo=True)``, ``rscolor export``) traces this same forward
with symbolic sizes. Python arithmetic and a branch on them would freeze the pooled grid at
the example's size, so when the sizes are symbols the grid is computed with ``torch.sym_*``
(:func:`symbolic_grid`, the same numbers as :func:`pooled_grid`) and the adaptive average
pooling is written as two pooling matrices (:func:`pool_by_matrices`, equal to
``F.adaptive_avg_pool2d`` to float rounding), without query chunks. Eager runs take the
plain path below, so their numbers are not changed by being exportable.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


def pooled_grid(h: int, w: int, max_tokens: int) -> tuple[int, int]:
    """The largest (h', w') <= (h, w) with h' * w' <= max_tokens and about the same aspect."""
    if h * w <= max_tokens:
        return h, w
    factor = math.sqrt(h * w / max_tokens)
    return max(1, min(h, int(h / factor))), max(1, min(w, int(w / factor)))


def symbolic_grid(h: Any, w: Any, max_tokens: int) -> tuple[Any, Any]:
    """:func:`pooled_grid` without Python branches, for symbolic (traced) sizes; when
    h * w <= max_tokens the factor is at most 1 and the grid is (h, w)."""
    factor = torch.sym_sqrt(h * w / max_tokens)
    gh = torch.sym_max(1, torch.sym_min(h, torch.sym_int(h / factor)))
    gw = torch.sym_max(1, torch.sym_min(w, torch.sym_int(w / factor)))
    return gh, gw


def pool_matrix(n_in: Any, n_out: Any, like: torch.Tensor) -> torch.Tensor:
    """n_out x n_in matrix of adaptive average pooling (PyTorch's bin edges)."""
    i = torch.arange(n_out, device=like.device)
    start = (i * n_in) // n_out
    end = ((i + 1) * n_in + n_out - 1) // n_out
    j = torch.arange(n_in, device=like.device)
    inside = (j[None] >= start[:, None]) & (j[None] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def pool_by_matrices(x: torch.Tensor, grid: tuple[Any, Any]) -> torch.Tensor:
    """``F.adaptive_avg_pool2d(x, grid)`` as pool_h @ x @ pool_w^T (traceable sizes)."""
    h, w = x.shape[-2:]
    return pool_matrix(h, grid[0], x) @ x @ pool_matrix(w, grid[1], x).T


def _is_symbolic(*sizes: Any) -> bool:
    return any(isinstance(n, torch.SymInt) for n in sizes)


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

    def pooled(self, f: torch.Tensor, salient: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys' features and values pooled to at most max_tokens positions."""
        h, w = f.shape[-2:]
        if _is_symbolic(h, w):  # an export trace (see the module docstring)
            grid = symbolic_grid(h, w, self.max_tokens)
            return pool_by_matrices(f, grid), pool_by_matrices(salient, grid)
        grid = pooled_grid(h, w, self.max_tokens)
        if grid == (h, w):
            return f, salient
        return F.adaptive_avg_pool2d(f, grid), F.adaptive_avg_pool2d(salient, grid)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f.shape
        salient = self.spatial(f)
        f_kv, salient_kv = self.pooled(f, salient)
        q = self.query(f).flatten(2).transpose(1, 2).unsqueeze(1)  # B 1 N dk
        k = self.key(f_kv).flatten(2).transpose(1, 2).unsqueeze(1)  # B 1 M dk
        v = salient_kv.flatten(2).transpose(1, 2).unsqueeze(1)  # B 1 M C
        n = q.shape[2]
        traced = _is_symbolic(h, w) or torch.jit.is_tracing() or torch.compiler.is_compiling()
        if not traced and n > self.query_chunk:
            parts = [
                F.scaled_dot_product_attention(q[:, :, i : i + self.query_chunk], k, v)
                for i in range(0, n, self.query_chunk)
            ]
            out = torch.cat(parts, 2)
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(dk)) v
        return f + out.squeeze(1).transpose(1, 2).reshape(b, c, h, w)
