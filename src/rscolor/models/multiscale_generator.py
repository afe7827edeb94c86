"""Multi-G: the symmetric multi-scale generator of Wu et al. (The Visual Computer, 2020).

Their paper gives the idea, not a layer table: each stage runs parallel convolutions with
different kernel sizes (3, 5, 7), concatenates them and merges with a 1x1 conv; the
encoder downsamples with stride 2, the decoder mirrors it (bilinear x2 upsampling, then a
multi-scale stage) with skip concatenations; it works in YUV. Our choices: branch widths
split the stage width evenly, LeakyReLU(0.2) in the encoder and ReLU in the decoder,
pix2pix norms and widths (no norm on the outermost and the innermost encoder stage, as in
pix2pix's U-Net: the innermost is 1x1 at the training size, where a norm has one value
per channel), tanh output.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from rscolor.config import Positive
from rscolor.models.blocks import level_channels, make_norm
from rscolor.models.unet import UNetLevels


class MultiScaleOptions(UNetLevels):
    """``generator: {name: multiscale_g}`` (Multi-G; configs written before the rename say
    ``multiscale``). It has the U-Net's widths and levels; it has no dropout, so
    ``dropout`` and ``dropout_layers`` are accepted (a suite shares them) and unused."""

    name: Literal["multiscale_g"] = "multiscale_g"
    kernel_sizes: tuple[Positive, ...] = Field(
        (3, 5, 7), min_length=1, description="Multi-G parallel kernels."
    )


class MultiKernelStage(nn.Module):
    """Parallel k x k convs (one per kernel size) -> concat -> 1x1 merge -> norm -> act."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernels: tuple[int, ...],
        stride: int,
        norm: str,
        act: nn.Module,
    ) -> None:
        super().__init__()
        branch = max(1, out_ch // len(kernels))
        self.branches = nn.ModuleList(nn.Conv2d(in_ch, branch, k, stride, k // 2) for k in kernels)
        self.merge = nn.Conv2d(branch * len(kernels), out_ch, 1)
        self.norm = make_norm(norm, out_ch)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([b(x) for b in self.branches], 1)
        return self.act(self.norm(self.merge(y)))


class MultiScaleGenerator(nn.Module):
    def __init__(self, cfg: MultiScaleOptions, in_ch: int, out_ch: int) -> None:
        super().__init__()
        ch = level_channels(cfg.ngf, cfg.depth, cfg.max_mult)
        k = tuple(cfg.kernel_sizes)
        self.depth = cfg.depth
        outer_or_inner = (0, cfg.depth - 1)
        self.encoder = nn.ModuleList(
            MultiKernelStage(
                in_ch if i == 0 else ch[i - 1],
                ch[i],
                k,
                2,
                "none" if i in outer_or_inner else cfg.norm,
                nn.LeakyReLU(0.2),
            )
            for i in range(cfg.depth)
        )
        self.decoder = nn.ModuleList(
            MultiKernelStage(
                ch[i] if i == cfg.depth - 1 else 2 * ch[i], ch[i - 1], k, 1, cfg.norm, nn.ReLU()
            )
            for i in range(cfg.depth - 1, 0, -1)
        )
        self.out = nn.Sequential(nn.Conv2d(2 * ch[0], out_ch, 3, 1, 1), nn.Tanh())

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        y = skips[-1]
        for stage, skip in zip(self.decoder, reversed(skips[:-1]), strict=True):
            y = stage(F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False))
            y = torch.cat([y, skip], 1)
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out(y)
