"""Run a trained generator on images: luminance in, RGB out, input luminance kept."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rscolor.color import AB_SCALE, ColorSpace, get_color_space
from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig
from rscolor.inference.chroma_curve import Curve, apply_chroma_curve, check_curve
from rscolor.modelfile import (
    ModelMeta,
    check_model,
    checkpoint_config,
    generator_from_checkpoint,
    load_checkpoint,
)
from rscolor.models.chroma_bins import set_temperature
from rscolor.utils.device import pick_device

SHIPPED_MODEL = "default.pt"
FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))


def shipped_model_path() -> Path:
    """The model that ships in the package (src/rscolor/weights/default.pt)."""
    path = Path(str(resources.files("rscolor") / "weights" / SHIPPED_MODEL))
    if not path.is_file():
        raise UserError("no model ships with this install; pass --checkpoint")
    return path


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (replicate where the image is too small) bottom/right to a multiple."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


class Colorizer:
    """A generator plus what it needs to be used: its colour space and size multiple."""

    def __init__(
        self,
        generator: nn.Module,
        cfg: ExperimentConfig,
        meta: dict[str, Any] | ModelMeta | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()
        self.cfg = cfg
        self.meta = meta.to_dict() if isinstance(meta, ModelMeta) else dict(meta or {})
        self.space: ColorSpace = get_color_space(cfg.color_space)
        self.size_multiple: int = int(getattr(generator, "size_multiple", 1))

    @property
    def model_meta(self) -> ModelMeta:
        """The typed form of `meta` (which stays a dict: the overrides below write to it)."""
        return ModelMeta.from_dict(self.meta)

    @property
    def train_size(self) -> int:
        size = self.model_meta.train_size
        return int(self.cfg.data.crop_size if size is None else size)

    @property
    def saturation(self) -> float:
        """Chroma gain around the training data's mean colour (1 = the network's own)."""
        value = self.model_meta.saturation
        return 1.0 if value is None else float(value)

    def set_saturation(self, value: float | None) -> None:
        """Override the model's saturation (None keeps it); it travels with exports."""
        if value is None:
            return
        if not 0.0 <= value <= 4.0:
            raise UserError(f"--saturation {value:g}: expected a factor in [0, 4], e.g. 0.8")
        try:
            self.space.chroma_center((0.0, 0.0))
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.meta["saturation"] = float(value)

    @property
    def max_chroma(self) -> float | None:
        """Largest CIE Lab chroma the model may output (None = no cap)."""
        value = self.model_meta.max_chroma
        return float(value) if value else None

    def set_max_chroma(self, value: float | None) -> None:
        """Cap the output chroma (None keeps the model's setting); travels with exports."""
        if value is None:
            return
        if self.space.name != "lab":
            raise UserError("--max-chroma needs a Lab model")
        if not 0.0 < value <= AB_SCALE:
            raise UserError(f"--max-chroma {value:g}: expected a Lab chroma in (0, 110]")
        self.meta["max_chroma"] = float(value)

    def set_temperature(self, value: float | None) -> None:
        """Decode a 'bins' head at this annealed-mean temperature (None keeps the model's);
        recorded in the config, so it travels with exports."""
        if value is None:
            return
        if not 0.0 < value <= 1.0:
            raise UserError(f"--temperature {value:g}: expected a value in (0, 1], e.g. 0.6")
        if not set_temperature(self.generator, value):
            raise UserError("--temperature needs a model with a 'bins' head")
        generator = self.cfg.generator.model_copy(update={"head_temperature": float(value)})
        self.cfg = self.cfg.model_copy(update={"generator": generator})

    @property
    def chroma_curve(self) -> Curve | None:
        """Quantile-matching chroma curve (`inference/chroma_curve.py`); None = none."""
        value = self.meta.get("chroma_curve")
        try:
            return check_curve(value) if value else None
        except ValueError as exc:  # the model file's metadata: the user's input
            raise UserError(f"model metadata: {exc}") from None

    def set_chroma_curve(self, curve: Curve | None) -> None:
        """Set the chroma curve (None removes it); it travels with exports."""
        if curve is None:
            self.meta.pop("chroma_curve", None)
            return
        if self.space.name != "lab":
            raise UserError("a chroma curve needs a Lab model")
        self.meta["chroma_curve"] = [list(part) for part in check_curve(curve)]

    def adjust_chroma(self, target: torch.Tensor, saturation: float | None = None) -> torch.Tensor:
        """The network's chroma, its distance from the training mean colour remapped by
        the model's `chroma_curve` (if any), then scaled by `saturation` (default: the
        model's) around that colour (center + saturation * (target - center)), then capped
        at `max_chroma` (hue kept)."""
        gain = self.saturation if saturation is None else saturation
        cap = self.max_chroma
        curve = self.chroma_curve
        if gain != 1.0 or curve is not None:
            mean_ab = self.model_meta.mean_ab or (0.0, 0.0)
            center = torch.from_numpy(self.space.chroma_center(mean_ab)).to(target.dtype)
            center = center.view(1, -1, 1, 1).to(target.device)
            offset = target - center
            if curve is not None:
                offset = apply_chroma_curve(offset, curve, AB_SCALE)
            target = center + gain * offset
        if cap is not None:
            chroma = torch.linalg.vector_norm(target, dim=1, keepdim=True) * AB_SCALE
            target = target * (cap / chroma.clamp_min(1e-6)).clamp(max=1.0)
        return target

    @property
    def flip_average(self) -> bool:
        """Test-time flip averaging: the mean of the outputs for the input and its
        horizontal, vertical and double flips (4 passes)."""
        return bool(self.model_meta.flip_average)

    def set_flip_average(self, value: bool | None) -> None:
        """Turn flip averaging on or off (None keeps the model's setting)."""
        if value is not None:
            self.meta["flip_average"] = bool(value)

    @torch.inference_mode()
    def run_generator(self, lum: torch.Tensor) -> torch.Tensor:
        """The network's own output for B x 1 x H x W luminance (any H, W)."""
        padded, (h, w) = pad_to_multiple(lum.to(self.device), self.size_multiple)
        if not self.flip_average:
            return self.generator(padded)[..., :h, :w].float().cpu()
        total = torch.zeros(())
        for dims in FLIPS:
            x = padded.flip(dims) if dims else padded
            y = self.generator(x)
            total = total + (y.flip(dims) if dims else y).float()
        return (total / len(FLIPS))[..., :h, :w].cpu()

    def predict_batch(self, lum: torch.Tensor) -> torch.Tensor:
        """B x 1 x H x W normalised luminance -> B x C x H x W target (any H, W)."""
        return self.adjust_chroma(self.run_generator(lum))

    def predict_target(self, lum: np.ndarray) -> np.ndarray:
        """HxW normalised luminance -> HxWxC target."""
        out = self.predict_batch(
            torch.from_numpy(np.ascontiguousarray(lum, np.float32))[None, None]
        )
        return out[0].numpy().transpose(1, 2, 0)

    def colorize_lum(self, lum: np.ndarray) -> np.ndarray:
        return self.space.merge(lum, self.predict_target(lum))

    def colorize_rgb(self, rgb: np.ndarray) -> np.ndarray:
        """RGB HxWx3 in [0, 1] -> colorized RGB from its own luminance (its colours are
        the ground truth a prediction is scored against)."""
        return self.colorize_lum(self.space.split(rgb)[0])

    def colorize(self, gray: np.ndarray) -> np.ndarray:
        """Gray HxW in [0, 1] -> RGB HxWx3 in [0, 1] with the input's luminance."""
        return self.colorize_lum(self.space.gray_to_lum(gray))


def load_colorizer(checkpoint: str | Path | None = None, device: str = "auto") -> Colorizer:
    """Load a checkpoint (best.pt, last.pt or an exported model); None = the shipped model."""
    path = Path(checkpoint) if checkpoint else shipped_model_path()
    ckpt = load_checkpoint(path)
    meta = check_model(ckpt, str(path))
    generator = generator_from_checkpoint(ckpt, str(path))
    return Colorizer(generator, checkpoint_config(ckpt, str(path)), meta, pick_device(device))
