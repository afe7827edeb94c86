"""The colorization dataset: an RGB scene image becomes (luminance input, colour target)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F
from torch.utils.data import Dataset

from rscolor.color import get_color_space, rgb_to_lab
from rscolor.data.images import read_rgb


def resize_rgb(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize RGB [0, 1] to (height, width) with a bicubic filter."""
    img = Image.fromarray(np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8))
    out = img.resize((size[1], size[0]), Image.Resampling.BICUBIC)
    return np.asarray(out, dtype=np.float32) / 255.0


def resize_pair(
    lum: torch.Tensor, target: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize C x H x W luminance and target to size x size (bilinear, antialiased when
    shrinking): a rescaled crop as a camera with another pixel size would see it."""
    both = torch.cat([lum, target], 0)[None]
    out = F.interpolate(both, size=(size, size), mode="bilinear", antialias=True)[0]
    return out[:1].contiguous(), out[1:].contiguous()


class ColorizationDataset(Dataset):
    """Images listed relative to `root`, converted to the model's colour space.

    Training (``train=True``) takes a random `crop_size` crop and random flips, drawn from
    a generator seeded by (seed, epoch, index), so a run is reproducible whatever the
    number of workers and a resumed run sees the same crops. Evaluation takes the whole
    image, or the centre `crop_size` crop when `crop_size` is given.
    Converted images are cached in memory (float16) when `cache` is set: decoding and
    the Lab conversion then happen once per image, not once per epoch. With `labels`
    (a class index per file) each item also has its ``label``.
    """

    def __init__(
        self,
        root: str | Path,
        files: list[str],
        color_space: str = "lab",
        crop_size: int | None = None,
        train: bool = False,
        hflip: bool = True,
        vflip: bool = True,
        cache: bool = True,
        seed: int = 0,
        rescale: tuple[float, float] | None = None,
        labels: list[int] | None = None,
    ) -> None:
        self.root = Path(root)
        self.files = list(files)
        self.space = get_color_space(color_space)
        self.crop_size = crop_size
        self.train = train
        self.hflip, self.vflip = hflip, vflip
        self.cache_enabled = cache
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.seed = seed
        self.rescale = rescale
        self.labels = labels  # class indices, one per file (the scene-class head's targets)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.files)

    def load_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(lum HxW, target HxWxC) of the whole image, float32."""
        if index in self._cache:
            lum, target = self._cache[index]
            return lum.astype(np.float32), target.astype(np.float32)
        rgb = read_rgb(self.root / self.files[index])
        if self.crop_size and min(rgb.shape[:2]) < self.crop_size:
            scale = self.crop_size / min(rgb.shape[:2])
            size = (round(rgb.shape[0] * scale), round(rgb.shape[1] * scale))
            rgb = resize_rgb(rgb, (max(size[0], self.crop_size), max(size[1], self.crop_size)))
        lum, target = self.space.split(rgb)
        if self.cache_enabled:
            self._cache[index] = (lum.astype(np.float16), target.astype(np.float16))
            # The first read returns the cached (float16-rounded) values too, so an image
            # is the same in every epoch, and a resumed run sees what an uninterrupted one did.
            return self.load_pair(index)
        return lum, target

    def _region(self, shape: tuple[int, int], rng: np.random.Generator | None) -> int:
        """Side of the source window a training crop is cut from: `crop_size`, or with
        random rescale crop_size / zoom (zoom log-uniform), limited by the image."""
        size = self.crop_size or 0
        if rng is None or not self.rescale or not size:
            return size
        low, high = self.rescale
        zoom = math.exp(rng.uniform(math.log(low), math.log(high)))
        return int(min(max(8, round(size / zoom)), *shape))

    def _window(
        self, shape: tuple[int, int], rng: np.random.Generator | None, size: int
    ) -> tuple[int, int]:
        h, w = shape
        if rng is None:
            return (h - size) // 2, (w - size) // 2
        return int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """`key` is an index, or (epoch, index) from the training sampler."""
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        lum, target = self.load_pair(index)
        rng = np.random.default_rng([self.seed, epoch, index]) if self.train else None
        if self.crop_size:
            s = self._region(lum.shape, rng)
            top, left = self._window(lum.shape, rng, s)
            lum, target = (
                lum[top : top + s, left : left + s],
                target[top : top + s, left : left + s],
            )
        if rng is not None:
            if self.hflip and rng.random() < 0.5:
                lum, target = lum[:, ::-1], target[:, ::-1]
            if self.vflip and rng.random() < 0.5:
                lum, target = lum[::-1], target[::-1]
        lum_t = torch.from_numpy(np.ascontiguousarray(lum))[None]
        target_t = torch.from_numpy(np.ascontiguousarray(target.transpose(2, 0, 1)))
        if self.crop_size and lum_t.shape[-1] != self.crop_size:
            lum_t, target_t = resize_pair(lum_t, target_t, self.crop_size)
        item = {"lum": lum_t, "target": target_t, "index": torch.tensor(index)}
        if self.labels is not None:
            item["label"] = torch.tensor(self.labels[index])
        return item


def mean_ab(root: str | Path, files: list[str], progress: bool = False) -> tuple[float, float]:
    """Mean CIE (a, b) over all pixels of `files`: the `mean_chroma` reference colorizer."""
    from tqdm import tqdm

    total = np.zeros(2, np.float64)
    count = 0
    for rel in tqdm(files, desc="mean chroma", disable=not progress, leave=False):
        lab = rgb_to_lab(read_rgb(Path(root) / rel))
        total += lab[..., 1:].reshape(-1, 2).sum(0)
        count += lab.shape[0] * lab.shape[1]
    mean = total / max(count, 1)
    return float(mean[0]), float(mean[1])
