"""The shipped method configs shrunk to test size: same methods, tiny widths and images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rscolor.config import ExperimentConfig, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

# Shrinks every method alike; method-defining fields (generator name and switches,
# discriminator kind, loss, colour space) are left as the config has them.
TINY: dict[str, Any] = {
    "data": {"crop_size": 32, "val_max_images": 4, "num_workers": 0},
    "generator": {"ngf": 4, "depth": 4, "lcfe_dk": 4, "dropout_layers": 1},
    "discriminator": {"ndf": 4},
    "train": {
        "epochs": 1,
        "batch_size": 4,
        "max_steps_per_epoch": 2,
        "threads": 1,
        "device": "cpu",
        "amp": "off",
        "channels_last": False,
        "checkpoint_every_steps": None,
    },
}


def method_config(key: str, scale: str = "cpu", tiny: bool = True) -> ExperimentConfig:
    return load_config(CONFIGS / f"{key}-{scale}.yaml", TINY if tiny else None)
