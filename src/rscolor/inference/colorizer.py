"""Run a trained generator on images: luminance in, RGB out, input luminance kept."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

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


class Runner(Protocol):
    """What runs the network: B x 1 x H x W normalised luminance (H, W multiples of
    `size_multiple`) in, the B x C x H x W target out. :class:`TorchRunner`, and the ONNX
    Runtime session (:class:`rscolor.inference.onnx_backend.OnnxRunner`)."""

    @property
    def size_multiple(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    @property
    def generator(self) -> nn.Module | None:
        """The torch module, where there is one."""
        ...

    def prepare(self, lum: torch.Tensor) -> torch.Tensor:
        """`lum` where `run` takes it (device, dtype)."""
        ...

    def run(self, padded: torch.Tensor) -> torch.Tensor: ...


class TorchRunner:
    """A torch generator on a device, in eval mode."""

    def __init__(self, generator: nn.Module, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.generator: nn.Module = generator.to(self.device).eval()
        self.size_multiple = int(getattr(generator, "size_multiple", 1))

    def prepare(self, lum: torch.Tensor) -> torch.Tensor:
        return lum.to(self.device)

    def run(self, padded: torch.Tensor) -> torch.Tensor:
        return self.generator(padded)


class Colorizer:
    """A model ready to use: what runs its network (:class:`Runner`), its config, colour
    space and typed metadata (:class:`ModelMeta`: the calibration it applies, the scale
    it works at). Immutable in use: :meth:`calibrated` gives a new one."""

    def __init__(
        self,
        generator: nn.Module | Runner,
        cfg: ExperimentConfig,
        meta: ModelMeta | Mapping[str, Any] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        runner = TorchRunner(generator, device) if isinstance(generator, nn.Module) else generator
        self.runner: Runner = runner
        self.cfg = cfg
        self.meta = meta if isinstance(meta, ModelMeta) else ModelMeta.from_dict(meta)
        self.space: ColorSpace = get_color_space(cfg.color_space)

    @property
    def generator(self) -> nn.Module:
        """The torch module (a UserError for a runner without one: an ONNX model)."""
        if self.runner.generator is None:
            raise UserError("this model runs in ONNX Runtime: it has no torch generator")
        return self.runner.generator

    @property
    def device(self) -> torch.device:
        return self.runner.device

    @property
    def size_multiple(self) -> int:
        return self.runner.size_multiple

    @property
    def train_size(self) -> int:
        size = self.meta.train_size
        return int(self.cfg.data.crop_size if size is None else size)

    @property
    def saturation(self) -> float:
        """Chroma gain around the training data's mean colour (1 = the network's own)."""
        value = self.meta.saturation
        return 1.0 if value is None else float(value)

    @property
    def max_chroma(self) -> float | None:
        """Largest CIE Lab chroma the model may output (None = no cap)."""
        value = self.meta.max_chroma
        return float(value) if value else None

    @property
    def chroma_curve(self) -> Curve | None:
        """Quantile-matching chroma curve (`inference/chroma_curve.py`); None = none."""
        value = self.meta.chroma_curve
        try:
            return check_curve(value) if value else None  # type: ignore[arg-type]
        except ValueError as exc:  # the model file's metadata: the user's input
            raise UserError(f"model metadata: {exc}") from None

    @property
    def flip_average(self) -> bool:
        """Test-time flip averaging: the mean of the outputs for the input and its
        horizontal, vertical and double flips (4 passes)."""
        return bool(self.meta.flip_average)

    def with_meta(self, meta: ModelMeta) -> Colorizer:
        """The same network and config with other metadata."""
        return Colorizer(self.runner, self.cfg, meta)

    def calibrated(
        self,
        saturation: float | None = None,
        max_chroma: float | None = None,
        chroma_curve: Curve | None = None,
        flip_average: bool | None = None,
        temperature: float | None = None,
    ) -> Colorizer:
        """A new Colorizer whose output is calibrated so (None keeps the model's setting);
        its metadata (and for `temperature`, its config) travel with exports. This one is
        left as it was."""
        changes = calibration_changes(self.space, saturation, max_chroma, chroma_curve)
        if flip_average is not None:
            changes["flip_average"] = bool(flip_average)
        tuned = self.with_meta(replace(self.meta, **changes))
        return tuned if temperature is None else tuned._with_temperature(temperature)

    def uncalibrated(self) -> Colorizer:
        """The network's own output: no saturation, chroma curve or cap."""
        plain = replace(self.meta, saturation=None, max_chroma=None, chroma_curve=None)
        return self.with_meta(plain)

    def _with_temperature(self, value: float) -> Colorizer:
        """A 'bins' head decoded at this annealed-mean temperature (a copy of the
        generator; recorded in the config)."""
        if not 0.0 < value <= 1.0:
            raise UserError(f"--temperature {value:g}: expected a value in (0, 1], e.g. 0.6")
        generator = copy.deepcopy(self.generator)
        if not set_temperature(generator, value):
            raise UserError("--temperature needs a model with a 'bins' head")
        options = self.cfg.generator.model_copy(update={"head_temperature": float(value)})
        cfg = self.cfg.model_copy(update={"generator": options})
        return Colorizer(generator, cfg, self.meta, self.device)

    def adjust_chroma(self, target: torch.Tensor, saturation: float | None = None) -> torch.Tensor:
        """The network's chroma, its distance from the training mean colour remapped by
        the model's `chroma_curve` (if any), then scaled by `saturation` (default: the
        model's) around that colour (center + saturation * (target - center)), then capped
        at `max_chroma` (hue kept)."""
        gain = self.saturation if saturation is None else saturation
        cap = self.max_chroma
        curve = self.chroma_curve
        if gain != 1.0 or curve is not None:
            mean_ab = self.meta.mean_ab or (0.0, 0.0)
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

    @torch.inference_mode()
    def run_generator(self, lum: torch.Tensor) -> torch.Tensor:
        """The network's own output for B x 1 x H x W luminance (any H, W), float on the
        CPU; with `flip_average`, the mean over the four flips."""
        padded, (h, w) = pad_to_multiple(self.runner.prepare(lum), self.size_multiple)
        if not self.flip_average:
            return self.runner.run(padded)[..., :h, :w].float().cpu()
        total = torch.zeros(())
        for dims in FLIPS:
            x = padded.flip(dims) if dims else padded
            y = self.runner.run(x)
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


def calibration_changes(
    space: ColorSpace,
    saturation: float | None,
    max_chroma: float | None,
    chroma_curve: Curve | None,
) -> dict[str, Any]:
    """The metadata fields a calibration sets, each checked (None: left as it is)."""
    changes: dict[str, Any] = {}
    if saturation is not None:
        if not 0.0 <= saturation <= 4.0:
            raise UserError(f"--saturation {saturation:g}: expected a factor in [0, 4], e.g. 0.8")
        try:
            space.chroma_center((0.0, 0.0))
        except ValueError as exc:
            raise UserError(str(exc)) from None
        changes["saturation"] = float(saturation)
    if max_chroma is not None:
        if space.name != "lab":
            raise UserError("--max-chroma needs a Lab model")
        if not 0.0 < max_chroma <= AB_SCALE:
            raise UserError(f"--max-chroma {max_chroma:g}: expected a Lab chroma in (0, 110]")
        changes["max_chroma"] = float(max_chroma)
    if chroma_curve is not None:
        if space.name != "lab":
            raise UserError("a chroma curve needs a Lab model")
        changes["chroma_curve"] = [list(part) for part in check_curve(chroma_curve)]
    return changes


def load_colorizer(checkpoint: str | Path | None = None, device: str = "auto") -> Colorizer:
    """Load a checkpoint (best.pt, last.pt or an exported model); None = the shipped model."""
    path = Path(checkpoint) if checkpoint else shipped_model_path()
    ckpt = load_checkpoint(path)
    meta = check_model(ckpt, str(path))
    generator = generator_from_checkpoint(ckpt, str(path))
    return Colorizer(generator, checkpoint_config(ckpt, str(path)), meta, pick_device(device))
