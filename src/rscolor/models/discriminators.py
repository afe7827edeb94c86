"""Conditional discriminators: each sees the gray input concatenated with a colour target.

- ``patchgan``: pix2pix's 70x70 PatchGAN (3 strided 4x4 convs, one stride-1, then logits).
- ``dcgan``: Nazeri et al.'s DCGAN discriminator, the same conv/BN/LeakyReLU stack with
  more strided layers (default 4), so each logit sees a larger part of the image.
- ``multiscale``: Multi-D (Li et al., IGARSS 2018): one branch per decoder scale, fed that
  scale's image; each branch adds in the features of the coarser branch before it.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from rscolor.config import NormName
from rscolor.models.blocks import make_norm, resize_to
from rscolor.models.options import DiscriminatorOptions


class ConvDiscriminatorOptions(DiscriminatorOptions):
    """``discriminator: {name: dcgan}`` or ``{name: patchgan}``: `ConvDiscriminator`."""

    name: Literal["dcgan", "patchgan"] = "dcgan"
    ndf: int = Field(64, ge=1, le=256, description="Width of the first layer.")
    n_layers: int = Field(4, ge=1, le=12, description="Strided 4x4 conv layers.")
    norm: NormName = Field("batch", description="Norm layer.")
    spectral_norm: bool = Field(
        False, description="Spectral normalisation on every conv (a Lipschitz-bounded D)."
    )


class MultiScaleDiscriminatorOptions(DiscriminatorOptions):
    """``discriminator: {name: multiscale_d}`` (Multi-D; earlier configs say ``multiscale``)."""

    name: Literal["multiscale_d"] = "multiscale_d"
    ndf: int = Field(64, ge=1, le=256, description="Width of the first layer.")
    scales: int = Field(3, ge=1, le=12, description="Number of decoder scales judged.")
    norm: NormName = Field("batch", description="Norm layer.")
    spectral_norm: bool = Field(
        False, description="Spectral normalisation on every conv (a Lipschitz-bounded D)."
    )


def conv_stack(in_ch: int, ndf: int, n_strided: int, norm: str) -> tuple[nn.Sequential, int]:
    """4x4 stride-2 convs (no norm on the first), LeakyReLU(0.2); returns (stack, out_ch)."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
    ch = ndf
    for n in range(1, n_strided):
        nxt = ndf * min(2**n, 8)
        layers += [nn.Conv2d(ch, nxt, 4, 2, 1), make_norm(norm, nxt), nn.LeakyReLU(0.2)]
        ch = nxt
    return nn.Sequential(*layers), ch


class ConvDiscriminator(nn.Module):
    """Strided conv stack -> one stride-1 conv -> 1-channel logits map."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        stack, ch = conv_stack(in_ch, ndf, n_layers, norm)
        nxt = ndf * min(2**n_layers, 8)
        self.net = nn.Sequential(
            stack,
            nn.Conv2d(ch, nxt, 4, 1, 1),
            make_norm(norm, nxt),
            nn.LeakyReLU(0.2),
            nn.Conv2d(nxt, 1, 4, 1, 1),
        )

    def forward(self, gray: torch.Tensor, color: torch.Tensor) -> list[torch.Tensor]:
        return [self.net(torch.cat([gray, color], 1))]


class MultiScaleDiscriminator(nn.Module):
    """Judges a list of images, coarse to fine (the generator's side outputs)."""

    def __init__(self, in_ch: int, ndf: int = 64, scales: int = 3, norm: str = "batch") -> None:
        super().__init__()
        self.scales = scales
        stacks = [conv_stack(in_ch, ndf, 2, norm) for _ in range(scales)]
        self.branches = nn.ModuleList(s for s, _ in stacks)
        ch = stacks[0][1]
        self.logits = nn.ModuleList(nn.Conv2d(ch, 1, 3, 1, 1) for _ in range(scales))

    def forward(self, gray: torch.Tensor, colors: list[torch.Tensor]) -> list[torch.Tensor]:
        if len(colors) != self.scales:
            raise ValueError(f"expected {self.scales} scales, got {len(colors)}")
        outputs, previous = [], None
        for branch, head, color in zip(self.branches, self.logits, colors, strict=True):
            g = (
                gray
                if gray.shape[-2:] == color.shape[-2:]
                else F.adaptive_avg_pool2d(gray, (color.shape[-2], color.shape[-1]))
            )
            feat = branch(torch.cat([g, color], 1))
            if previous is not None:
                feat = feat + resize_to(previous, feat)
            outputs.append(head(feat))
            previous = feat
        return outputs


def pyramid(image: torch.Tensor, scales: int) -> list[torch.Tensor]:
    """The image at 1/2**(scales-1), ..., 1/2, 1 (coarse to fine): the real targets for
    Multi-D."""
    return [F.avg_pool2d(image, 2**s) if s else image for s in range(scales - 1, -1, -1)]


def with_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalisation on every conv of `module` (Miyato et al. 2018): it bounds
    D's Lipschitz constant, so D cannot win so fast that G's gradients become extreme."""
    if enabled:
        for layer in list(module.modules()):
            if isinstance(layer, nn.Conv2d):
                nn.utils.parametrizations.spectral_norm(layer)
    return module


def build_conv_discriminator(cfg: ConvDiscriminatorOptions, in_ch: int) -> nn.Module:
    d = ConvDiscriminator(in_ch, cfg.ndf, cfg.n_layers, cfg.norm)
    return with_spectral_norm(d, cfg.spectral_norm)


def build_multiscale_discriminator(cfg: MultiScaleDiscriminatorOptions, in_ch: int) -> nn.Module:
    d = MultiScaleDiscriminator(in_ch, cfg.ndf, cfg.scales, cfg.norm)
    return with_spectral_norm(d, cfg.spectral_norm)
