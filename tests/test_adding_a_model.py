"""A new model by the "Adding a model" checklist of docs/architecture.md alone: a toy
generator's own file and its registry line, in a copy of the package. The copy differs
from this one in those two places only; the registry-driven tests of tests/test_models.py
pick the toy up (it loads by name, trains, honours its size multiple, exports to ONNX),
and a config naming it round-trips through a model file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rscolor"

# Step 1 of the checklist: the network and its options, in their own file.
TOY_FILE = '''"""A toy generator: a strided conv, upsampling, and a conv beside the input."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from rscolor.models.options import GeneratorOptions


class ToyOptions(GeneratorOptions):
    """``generator: {name: toy}``."""

    name: Literal["toy"] = "toy"
    width: int = Field(8, ge=1, le=64, description="Channels of the hidden layer.")


class ToyGenerator(nn.Module):
    def __init__(self, cfg: ToyOptions, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.encode = nn.Sequential(nn.Conv2d(in_ch, cfg.width, 3, 2, 1), nn.ReLU())
        self.decode = nn.Conv2d(cfg.width + in_ch, out_ch, 3, 1, 1)

    @property
    def size_multiple(self) -> int:
        return 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = F.interpolate(self.encode(x), scale_factor=2, mode="nearest")
        return torch.tanh(self.decode(torch.cat([hidden, x], 1)))
'''

# Step 3: the registry line (and its import).
IMPORT_AFTER = "from rscolor.models.unet import UNetGenerator, UNetOptions\n"
IMPORT = "from rscolor.models.toy import ToyGenerator, ToyOptions\n"
ENTRY_AFTER = '    "unet": Architecture(UNetOptions, UNetGenerator),\n'
ENTRY = '    "toy": Architecture(ToyOptions, ToyGenerator),\n'

# A config naming it, through a model file and back.
ROUND_TRIP = """
import sys
from rscolor.experiment import config_from_dict
from rscolor.inference.colorizer import load_colorizer
from rscolor.modelfile import inference_payload, save_checkpoint
from rscolor.models import build_generator
cfg = config_from_dict({"generator": {"name": "toy", "width": 4}, "data": {"crop_size": 16}})
assert cfg.to_dict()["generator"] == {"name": "toy", "width": 4}, cfg.to_dict()["generator"]
meta = {"train_size": 16, "mean_ab": [0.0, 0.0]}
save_checkpoint(sys.argv[1], inference_payload(build_generator(cfg), cfg, meta))
colorizer = load_colorizer(sys.argv[1], "cpu")
assert colorizer.cfg == cfg and colorizer.size_multiple == 2
print("round trip ok")
"""


def add_toy(package: Path) -> None:
    """The checklist's steps 1 and 3 on a copy of the package."""
    (package / "models" / "toy.py").write_text(TOY_FILE, encoding="utf-8")
    registry = package / "models" / "registry.py"
    text = registry.read_text(encoding="utf-8")
    assert text.count(IMPORT_AFTER) == 1 and text.count(ENTRY_AFTER) == 1
    text = text.replace(IMPORT_AFTER, IMPORT_AFTER + IMPORT)
    registry.write_text(text.replace(ENTRY_AFTER, ENTRY_AFTER + ENTRY), encoding="utf-8")


def changed_files(original: Path, copy: Path) -> set[str]:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.py")}

    before, after = files(original), files(copy)
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


@pytest.mark.slow  # a pytest run in a subprocess, with an ONNX export
def test_a_toy_generator_by_the_checklist_is_picked_up_by_the_registry_tests(tmp_path) -> None:
    package = tmp_path / "src" / "rscolor"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    add_toy(package)
    assert changed_files(PACKAGE, package) == {"models/toy.py", "models/registry.py"}
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_models.py",
            "-k",
            "toy",
            "-rA",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    for test in (
        "test_registered_options_load_by_name_and_round_trip[generator-toy]",
        "test_every_generator_trains[toy-lab]",
        "test_every_generator_trains[toy-rgb]",
        "test_every_generator_honours_its_size_multiple[toy]",
        "test_every_generator_exports_to_onnx[toy]",
    ):
        assert f"PASSED tests/test_models.py::{test}" in run.stdout, run.stdout[-3000:]
    model = tmp_path / "toy.pt"
    trip = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, str(model)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trip.returncode == 0 and "round trip ok" in trip.stdout, trip.stderr[-2000:]
