"""Building blocks shared by every network: norms and pix2pix-style U-Net levels."""

from __future__ import annotations

import torch
from torch import nn


def make_norm(name: str, channels: int) -> nn.Module:
    """pix2pix's norm choices; 'syncbatch' keeps batch statistics right under DDP."""
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "syncbatch":
        return nn.SyncBatchNorm(channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {name!r}")


def down(in_ch: int, out_ch: int, norm: str | None, act: bool = True) -> nn.Sequential:
    """Encoder level: LeakyReLU(0.2) -> 4x4 stride-2 conv -> norm (pix2pix order)."""
    layers: list[nn.Module] = [nn.LeakyReLU(0.2, inplace=False)] if act else []
    layers.append(nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=norm in (None, "none", "instance")))
    if norm:
        layers.append(make_norm(norm, out_ch))
    return nn.Sequential(*layers)


def up(in_ch: int, out_ch: int, norm: str | None, dropout: float = 0.0) -> nn.Sequential:
    """Decoder level: ReLU -> 4x4 stride-2 transposed conv -> norm -> dropout."""
    layers: list[nn.Module] = [
        nn.ReLU(inplace=False),
        nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=norm in (None, "none", "instance")),
    ]
    if norm:
        layers.append(make_norm(norm, out_ch))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def conv_block(in_ch: int, out_ch: int, kernel: int = 3, norm: str = "none") -> nn.Sequential:
    """Same-size conv -> norm -> ReLU (fusion layers)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, 1, kernel // 2), make_norm(norm, out_ch), nn.ReLU()
    )


class BoundedChroma(nn.Module):
    """Soft, hue-keeping cap of a chroma vector: v -> v * b tanh(|v| / b) / |v|.

    Close to the identity for small chroma and never above `bound`, so unlike a tanh per
    channel it has no saturated corner (a = b = +-1, chroma 155 in Lab units) for the
    network to fall into: the origin of the false-colour blotches.
    """

    def __init__(self, bound: float) -> None:
        super().__init__()
        self.bound = float(bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        radius = torch.linalg.vector_norm(x, dim=1, keepdim=True).clamp_min(1e-6)
        return x * (self.bound * torch.tanh(radius / self.bound) / radius)


def image_head(in_ch: int, out_ch: int, bound: float | None = None) -> nn.Sequential:
    """Features -> image in [-1, 1]: tanh, or a chroma of norm at most `bound`."""
    act = nn.Tanh() if bound is None else BoundedChroma(bound)
    return nn.Sequential(nn.ReLU(), nn.Conv2d(in_ch, out_ch, 3, 1, 1), act)


def resize_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of `x` to the spatial size of `ref` (no-op when equal)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    return nn.functional.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


def level_channels(ngf: int, depth: int, max_mult: int) -> list[int]:
    """Channels of each encoder level: ngf, 2ngf, 4ngf, 8ngf, 8ngf, ... (pix2pix)."""
    return [ngf * min(2**i, max_mult) for i in range(depth)]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
