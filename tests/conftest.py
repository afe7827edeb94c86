"""Shared fixtures: tiny generated scene folders and tiny model configs (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rscolor.config import ExperimentConfig, config_from_dict

CLASS_COLORS = {"forest": (40, 110, 50), "beach": (200, 180, 120), "pond": (50, 90, 140)}


def smooth_scene(rng: np.random.Generator, size: int, base: tuple[int, int, int]) -> np.ndarray:
    """A smooth random texture tinted with the class colour (uint8 HxWx3)."""
    coarse = rng.uniform(-1, 1, (size // 8 + 2, size // 8 + 2))
    noise = np.asarray(
        Image.fromarray(((coarse + 1) * 127).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    )
    shade = noise.astype(np.float32) / 255.0 - 0.5
    img = np.clip(np.array(base, np.float32)[None, None] * (1 + 0.8 * shade[..., None]), 0, 255)
    return img.astype(np.uint8)


def make_scene_tree(root: Path, per_class: int = 10, size: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for i, (name, color) in enumerate(CLASS_COLORS.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            img = Image.fromarray(smooth_scene(rng, size, color))
            suffix = (".png", ".jpg", ".tif")[(i + j) % 3]
            img.save(folder / f"{name}_{j:03d}{suffix}")
    return root


@pytest.fixture
def scene_tree(tmp_path: Path) -> Path:
    return make_scene_tree(tmp_path / "scenes")


def tiny_config(**overrides) -> ExperimentConfig:
    """A joint-stream model small enough to train a few steps in a second."""
    raw = {
        "method": "tiny",
        "data": {"crop_size": 32, "cache": True, "val_max_images": 4},
        "generator": {"ngf": 4, "depth": 4, "lcfe_dk": 4, "dropout_layers": 1},
        "discriminator": {"ndf": 4, "n_layers": 2},
        "train": {"epochs": 2, "batch_size": 4, "max_steps_per_epoch": 2, "threads": 1},
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            raw.setdefault(section, {})[field] = value
        else:
            raw[section] = value
    return config_from_dict(raw)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


# Modules whose tests start processes (torchrun, the console script, qgis_process, a
# browser), train several runs or export ONNX: `make test-fast` (-m "not slow") leaves
# them out; `make test` runs everything.
SLOW_MODULES = {
    "test_benchmark",
    "test_checked_writes",
    "test_cli_script",
    "test_distributed",
    "test_inputs_safe",
    "test_lcfe_memory",
    "test_model_info",
    "test_onnx",
    "test_qgis_plugin",
    "test_saturation",
    "test_study_browser",
}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
