"""The typed config sections every layer shares (data, loss, optimiser, training), their
value types, renamed registry names and the runtime fields.

Every choice the paper fixes and every choice it leaves open is a field with a documented
default (docs/design.md); a YAML file only needs the fields it changes. The networks'
options live next to each network (`rscolor.models`), and the whole experiment config
that gathers them, read from YAML, in `rscolor.experiment`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rscolor.utils.dotted import flatten, unflatten

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


class Strict(BaseModel):
    """A config section: an unknown field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class DataConfig(Strict):
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
    split_seed: int = Field(
        0, ge=0, le=2**32, description="Seed of the per-class shuffle of the split."
    )
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


class LossConfig(Strict):
    l1_weight: Weight = Field(100.0, description="lambda of Eq. 3.")
    gan_weight: Weight = Field(1.0, description="Weight of -log D(G(x)); 0 = plain regression.")
    label_smoothing: float = Field(
        1.0, gt=0.0, le=1.0, description="Target for real labels (Nazeri: 0.9)."
    )
    chroma_weight: Weight = Field(
        0.0,
        description="Pixel weights 1 + w c/mean(c) (c: true chroma; mean 1): against muted "
        "output. 0 = plain L1 (the paper).",
    )
    ciede_weight: Weight = Field(
        0.0,
        description="Weight of the mean CIEDE2000 (the metric, differentiable: "
        "color/ciede.py) beside the L1. 0 = off (the paper).",
    )
    bins_weight: Weight = Field(
        0.0,
        description="Weight of the cross-entropy on the 'bins' head's scores (soft targets, "
        "chroma-weighted as the L1). 0 = off.",
    )
    class_weight: Weight = Field(
        0.0,
        description="Weight of the scene-class head's cross-entropy against each training "
        "image's class folder (global colour priors, Iizuka et al. 2016). 0 = off.",
    )
    adv_warmup_epochs: Weight = Field(
        0.0,
        description="Epochs (fractions allowed) of the pixel terms alone before the "
        "adversarial term starts: colours first.",
    )
    adv_ramp_epochs: Weight = Field(
        0.0,
        description="After the warm-up, raise the adversarial weight linearly from 0 to "
        "gan_weight over this many epochs.",
    )


class OptimConfig(Strict):
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


class TrainConfig(Strict):
    epochs: int = Field(30, ge=1, le=10**6, description="Paper: 30.")
    batch_size: int = Field(8, ge=1, le=65536, description="Per process. Paper: 8.")
    max_steps_per_epoch: Big | None = Field(None, description="Cap batches per epoch.")
    seed: int = Field(0, ge=0, le=2**32)
    deterministic: bool = Field(False, description="torch deterministic algorithms.")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="auto, cpu, cuda, cuda:N.")
    amp: Literal["off", "bf16", "fp16"] = Field("off", description="Mixed precision on CUDA.")
    channels_last: bool = Field(False, description="channels_last memory format on CUDA.")
    compile: bool = Field(False, description="torch.compile the generator.")
    keep_freed_memory: bool = Field(
        True,
        description="On Linux with glibc, have malloc keep freed memory for reuse instead of "
        "returning it to the kernel each step (a CPU training step ran 1.5x faster on 2 "
        "cores; docs/performance.md, 'The memory allocator on the CPU'). No effect elsewhere.",
    )
    select_metric: Literal["ciede2000", "acc2", "acc5", "psnr", "ssim", "l1"] = Field(
        "ciede2000", description="Validation score that picks the best epoch."
    )
    checkpoint_every_steps: Big | None = Field(
        None, description="Also write last.pt every N steps (resume mid-epoch)."
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="torch CPU threads (None = torch default); at most the machine's cores "
        "when a run starts.",
    )
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


# ------------------------------------------------------ nested-config helpers
# Config fields that change where and how fast a run goes, not what it computes: a resumed
# run takes them from the command line rather than from last.pt, and a finished benchmark
# run is not retrained for them. `data.cache` is not one: cached images are float16-rounded,
# so the training inputs (and the trained weights) differ with and without it.
RUNTIME_FIELDS = frozenset(
    {
        "train.device",
        "train.threads",
        "train.checkpoint_every_steps",
        "train.compile",
        "train.keep_freed_memory",
        "data.num_workers",
        "data.root",
    }
)


def without_runtime(tree: dict[str, Any]) -> dict[str, Any]:
    """A config dict without its RUNTIME_FIELDS, renamed registry names as now (a copy):
    what two runs must share to be the same run."""
    flat = flatten(canonical_names(tree))
    return unflatten({k: v for k, v in flat.items() if k not in RUNTIME_FIELDS})
