"""The pix2pix U-Net (``unet_256`` at depth 8), used alone (U-Net, PatchGAN, DCGAN, Multi-D)
and as each stream of the joint-stream generator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from rscolor.config import NormName
from rscolor.models.blocks import down, level_channels, up
from rscolor.models.options import GeneratorOptions


class UNetLevels(GeneratorOptions):
    """The pix2pix U-Net's widths and levels: the options of every generator built of
    U-Net levels (``unet``, ``joint_stream``'s streams, ``multiscale_g``)."""

    ngf: int = Field(64, ge=1, le=256, description="Width of the first layer (pix2pix ngf).")
    depth: int = Field(
        8, ge=1, le=12, description="Encoder levels of the (micro) U-Net; 8 = pix2pix unet_256."
    )
    max_mult: int = Field(8, ge=1, le=16, description="Channel multiplier cap (pix2pix: ngf*8).")
    norm: NormName = Field("batch", description="Norm layer; 'syncbatch' for multi-GPU BN.")
    dropout: float = Field(
        0.5, ge=0.0, lt=1.0, description="Dropout in the innermost decoder layers."
    )
    dropout_layers: int = Field(
        3, ge=0, le=16, description="How many innermost decoder layers use dropout."
    )

    def too_small(self, crop_size: int) -> str | None:
        if crop_size < 2**self.depth:  # each level halves the crop
            return (
                f"data.crop_size {crop_size} < 2**generator.depth: the encoder would shrink "
                "it below one pixel"
            )
        return None


class UNetOptions(UNetLevels):
    """``generator: {name: unet}``: the U-Net alone (U-Net, PatchGAN, DCGAN, Multi-D)."""

    name: Literal["unet"] = "unet"
    side_outputs: int = Field(
        0, ge=0, le=16, description="Decoder levels that also emit an image (Multi-D)."
    )


@dataclass
class UNetFeatures:
    """Intermediate maps a caller may need: encoder outputs (fine to coarse) and decoder
    maps after each skip concatenation (coarse to fine, the last at half resolution)."""

    encoder: list[torch.Tensor]
    decoder: list[torch.Tensor]
    bottleneck: torch.Tensor | None = None  # the innermost encoder map (the class head's)


class UNet(nn.Module):
    """Encoder-decoder with skips; reaches 1x1 at the bottleneck for a 2**depth input.

    The outermost decoder layer maps to `out_ch` channels at full resolution; with
    ``tanh=True`` it is an image head (pix2pix), otherwise a feature map for fusion.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        depth: int,
        ngf: int = 64,
        max_mult: int = 8,
        norm: str = "batch",
        dropout: float = 0.5,
        dropout_layers: int = 3,
        tanh: bool = True,
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError("U-Net depth must be at least 2")
        ch = level_channels(ngf, depth, max_mult)
        self.depth = depth
        self.channels = ch
        enc = [nn.Sequential(nn.Conv2d(in_ch, ch[0], 4, 2, 1))]
        for i in range(1, depth):
            innermost = i == depth - 1
            enc.append(down(ch[i - 1], ch[i], None if innermost else norm))
        self.encoder = nn.ModuleList(enc)
        dec = []
        for i in range(depth - 1, 0, -1):  # innermost first
            in_ch_i = ch[i] if i == depth - 1 else 2 * ch[i]
            uses_dropout = 1 <= depth - 1 - i <= dropout_layers
            dec.append(up(in_ch_i, ch[i - 1], norm, dropout if uses_dropout else 0.0))
        self.decoder = nn.ModuleList(dec)
        outer: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(2 * ch[0], out_ch, 4, 2, 1)]
        if tanh:
            outer.append(nn.Tanh())
        self.outermost = nn.Sequential(*outer)

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def forward_features(
        self, x: torch.Tensor, keep: bool = True
    ) -> tuple[torch.Tensor, UNetFeatures]:
        """The output and the intermediate maps. With ``keep=False`` only the first encoder
        map is returned and each skip is released as soon as it is used, which lowers the
        peak memory on large inputs."""
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        encoder = list(skips) if keep else [skips[0]]
        decoded = []
        bottleneck = y = skips.pop()
        for layer in self.decoder:
            y = torch.cat([layer(y), skips.pop()], 1)
            if keep:
                decoded.append(y)
        return self.outermost(y), UNetFeatures(encoder, decoded, bottleneck)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]


def unet_from_config(cfg: UNetLevels, in_ch: int, out_ch: int, depth: int, tanh: bool) -> UNet:
    return UNet(
        in_ch,
        out_ch,
        depth,
        cfg.ngf,
        cfg.max_mult,
        cfg.norm,
        cfg.dropout,
        cfg.dropout_layers,
        tanh,
    )


class UNetGenerator(nn.Module):
    """The U-Net as a colorization generator, with optional decoder side outputs (Multi-D:
    an image at 1/2, 1/4, ... resolution from each of the last decoder levels)."""

    def __init__(self, cfg: UNetOptions, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.net = unet_from_config(cfg, in_ch, out_ch, cfg.depth, tanh=True)
        n_side = min(cfg.side_outputs, cfg.depth - 1)
        # decoder[-1] is at 1/2 resolution with 2*ch[0] channels, decoder[-2] at 1/4, ...
        side_ch = [2 * self.net.channels[i] for i in range(n_side)]
        self.side_heads = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_ch, 1), nn.Tanh()) for c in side_ch
        )

    @property
    def size_multiple(self) -> int:
        return self.net.size_multiple

    def forward(
        self, x: torch.Tensor, multiscale: bool = False
    ) -> torch.Tensor | list[torch.Tensor]:
        """The image; with ``multiscale=True`` the side outputs too, coarse to fine (the
        last is the full-resolution image). A keyword of forward, so DDP sees it."""
        if not multiscale:
            return self.net(x)
        out, feats = self.net.forward_features(x)
        sides = [head(feats.decoder[-1 - i]) for i, head in enumerate(self.side_heads)]
        return sides[::-1] + [out]
