"""A U-Net whose encoder is a pretrained image classifier (EfficientNet-Lite0): a stream of
the joint-stream generator that knows what roofs, fields and pools look like
(``generator.encoder``; a variant beyond the paper, docs/methods.md).

The decoder climbs from stride 32 to the input's resolution: at each level a bilinear 2x
upsampling, the encoder's map of that stride concatenated, a 3x3 conv, BatchNorm and ReLU.
At full resolution the lightness itself is the skip and a plain 3x3 conv gives the
features. It has the U-Net's
``forward_features`` interface, so the joint stream uses either in either stream.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rscolor.models.blocks import make_norm
from rscolor.models.efficientnet_lite import EfficientNetLite0, lightness_to_input
from rscolor.models.unet import UNetFeatures

ENCODERS = {"efficientnet_lite0": EfficientNetLite0}
FIRST_MAP_SCALE = 0.25


def decode_block(in_ch: int, out_ch: int, norm: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=norm == "none"), make_norm(norm, out_ch), nn.ReLU()
    )


def up2(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


def first_map(in_ch: int, out_ch: int, norm: str) -> nn.Sequential:
    """1x1 conv + norm of the stride-2 features for the joint stream's low-level path. The
    encoder's maps are large (rms about 4); the norm's scale starts at the U-Net's first
    map's (rms about 0.25), so the fused output does not start saturated."""
    layers = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, bias=False), make_norm(norm, out_ch))
    scale = getattr(layers[1], "weight", None)
    if scale is not None:
        nn.init.constant_(scale, FIRST_MAP_SCALE)
    return layers


class EncoderUNet(nn.Module):
    """Pretrained encoder + light decoder -> `out_ch` feature channels at the input's size.

    `first_ch` > 0 also gives a stride-2 map of that many channels as
    ``features.encoder[0]`` (what the joint stream's LCFE takes from the macro stream).
    ``features.bottleneck`` is the stride-32 map (the scene-class head pools it).
    """

    def __init__(
        self, encoder: str, width: int, out_ch: int, norm: str = "batch", first_ch: int = 0
    ) -> None:
        super().__init__()
        self.encoder = ENCODERS[encoder](with_head=False)
        enc = self.encoder.feature_channels  # strides 2, 4, 8, 16, 32
        dec = (width, width, 2 * width, 4 * width)  # strides 2, 4, 8, 16
        self.decoder = nn.ModuleList(
            decode_block((enc[i + 1] if i == 3 else dec[i + 1]) + enc[i], dec[i], norm)
            for i in range(3, -1, -1)
        )
        # As the U-Net's outermost layer: no norm, no activation, so the stream's output
        # starts as small as the paper's (a normalised one saturates the chroma head).
        self.outermost = nn.Conv2d(dec[0] + 1, out_ch, 3, 1, 1)
        self.first = first_map(enc[0], first_ch, norm) if first_ch else None
        self.bottleneck_channels = enc[-1]

    @property
    def size_multiple(self) -> int:
        return 32

    def forward_features(
        self, x: torch.Tensor, keep: bool = True
    ) -> tuple[torch.Tensor, UNetFeatures]:
        """The output and (when asked for) the stride-2 map and the bottleneck; `keep` is
        accepted for the U-Net's interface (the decoder maps are not kept)."""
        skips = self.encoder.features(lightness_to_input(x))
        first = [self.first(skips[0])] if self.first is not None else []
        bottleneck = skips[-1]
        y = skips.pop()
        for layer in self.decoder:
            skip = skips.pop()
            y = layer(torch.cat([up2(y, skip), skip], 1))
        y = self.outermost(torch.cat([up2(y, x), x], 1))
        return y, UNetFeatures(first, [], bottleneck)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]
