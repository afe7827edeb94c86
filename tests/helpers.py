"""Helpers the tests share (the fixtures are in conftest.py): tiny scene folders and
configs, the method configs at test size, the console script in a subprocess, tiny
models and GeoTIFFs, and rating-study runs and servers."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Thread
from types import ModuleType
from typing import Any

import numpy as np
import torch
from PIL import Image
from pydantic import BaseModel
from torch import nn

from rscolor.experiment import ExperimentConfig, config_from_dict, load_config, section_models
from rscolor.inference.colorizer import Colorizer
from rscolor.modelfile import inference_payload, save_checkpoint
from rscolor.models import build_generator
from rscolor.models.registry import DISCRIMINATORS, GENERATORS
from rscolor.suites.methods import method_config_path

# ------------------------------------------------- scenes and tiny configs
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


def load_script(rel: str) -> ModuleType:
    """A script of the repository (``scripts/x.py``, ``benchmarks/x.py``) as a module."""
    path = Path(__file__).resolve().parents[1] / rel
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The networks' sizes at test scale; a network takes those of its options it has.
TINY_NETWORKS: dict[str, dict[str, Any]] = {
    "generator": {"ngf": 4, "depth": 4, "lcfe_dk": 4, "dropout_layers": 1},
    "discriminator": {"ndf": 4, "n_layers": 2},
}


def tiny_config(**overrides) -> ExperimentConfig:
    """A joint-stream model small enough to train a few steps in a second (``generator__name``
    picks another; ``generator={...}`` replaces the whole section)."""
    raw: dict[str, Any] = {
        "method": "tiny",
        "data": {"crop_size": 32, "cache": True, "val_max_images": 4},
        "train": {"epochs": 2, "batch_size": 4, "max_steps_per_epoch": 2, "threads": 1},
    }
    fields = {k: v for k, v in overrides.items() if "__" in k}
    raw |= {k: v for k, v in overrides.items() if "__" not in k}
    for section, sizes in TINY_NETWORKS.items():
        if section not in raw:
            raw[section] = tiny_options(section, sizes, fields)
    for key, value in fields.items():
        section, _, field = key.partition("__")
        raw.setdefault(section, {})[field] = value
    return config_from_dict(raw)


def tiny_options(section: str, sizes: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The tiny sizes the network named in `fields` (or the default one) has."""
    table = GENERATORS if section == "generator" else DISCRIMINATORS
    name = fields.get(f"{section}__name", "joint_stream" if section == "generator" else "dcgan")
    owned = table[name].options.model_fields if name in table else {}
    return {k: v for k, v in sizes.items() if k in owned}


def all_sections() -> list[tuple[str, type[BaseModel]]]:
    """(section, class) for every class a config section may be read as."""
    return [(s, model) for s, models in section_models().items() for model in models]


# ----------------------------------------------------------- the console script
def rscolor_command() -> list[str]:
    """The console script beside this interpreter (or on PATH), else ``python -m rscolor``."""
    beside = Path(sys.executable).parent / "rscolor"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("rscolor")
    return [found] if found else [sys.executable, "-m", "rscolor"]


def run_rscolor(
    *args: object,
    cwd: Path | None = None,
    timeout: float = 600,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``rscolor ARGS``; this checkout's sources come first on the path."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [*rscolor_command(), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    """Exit 2, a single ``rscolor: error:`` line on stderr containing `needle`, no traceback."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rscolor: error:") and needle in lines[0], lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


# ----------------------------------------------------- tiny models and GeoTIFFs
CRS = "EPSG:32633"


def tiny_colorizer(seed: int = 0, chroma_gain: float = 0.3, **overrides: Any) -> Colorizer:
    """A random-weight tiny model. Its output conv is scaled by `chroma_gain` so colours
    stay moderate (in gamut, where the merge keeps the input's lightness exactly)."""
    torch.manual_seed(seed)
    cfg = tiny_config(**overrides)
    gen = build_generator(cfg)
    last = [m for m in gen.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)][-1]
    with torch.no_grad():
        last.weight.mul_(chroma_gain)
        if last.bias is not None:
            last.bias.mul_(chroma_gain)
    meta = {"train_size": cfg.data.crop_size, "method": "tiny"}
    return Colorizer(gen, cfg, meta)


def meta_changed(col: Colorizer, **changes: Any) -> Colorizer:
    """`col` with some metadata fields changed (a model file that records them)."""
    return col.with_meta(dataclasses.replace(col.meta, **changes))


def save_tiny_checkpoint(path: Path, **overrides: Any) -> Path:
    col = tiny_colorizer(**overrides)
    save_checkpoint(path, inference_payload(col.generator, col.cfg, col.meta))
    return path


def smooth_field(height: int, width: int, seed: int = 0, cells: int = 6) -> np.ndarray:
    """A smooth random field in [0, 1] (bilinear upsampling of a coarse grid)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.uniform(0, 1, (1, 1, cells, cells)).astype(np.float32))
    up = nn.functional.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
    return up[0, 0].clamp(0, 1).numpy()


def write_geotiff(
    path: Path,
    data: np.ndarray,
    nodata: float | None = None,
    pixel: float = 2.0,
    crs: str | None = CRS,
) -> dict[str, Any]:
    """Write bands x H x W (or H x W) data as a GeoTIFF; returns its profile."""
    import rasterio

    bands = data[None] if data.ndim == 2 else data
    profile = {
        "driver": "GTiff",
        "width": bands.shape[2],
        "height": bands.shape[1],
        "count": bands.shape[0],
        "dtype": str(bands.dtype),
        "crs": crs,
        "transform": rasterio.Affine(pixel, 0.0, 500000.0, 0.0, -pixel, 4100000.0),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
    return profile


def read_geotiff(path: Path) -> tuple[np.ndarray, Any]:
    """(bands x H x W data, the open dataset's profile) of a written GeoTIFF."""
    import rasterio

    with rasterio.open(path) as src:
        return src.read(), src.profile


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def samples_mosaic(rows: int, cols: int) -> np.ndarray:
    """A uint8 gray mosaic of the committed real AID samples (150 px each), rows x cols
    of them, cycled, every other one mirrored so neighbours differ."""
    from rscolor.color import rgb_luminance_gray
    from rscolor.data.images import read_rgb

    files = sorted(SAMPLES.glob("aid_*.jpg"))
    grays = [(255 * rgb_luminance_gray(read_rgb(f))).round().astype(np.uint8) for f in files]
    tiles = [
        [grays[(r * cols + c) % len(grays)][:, :: 1 - 2 * ((r + c) % 2)] for c in range(cols)]
        for r in range(rows)
    ]
    return np.block(tiles)


# ------------------------------------------------ rating-study runs and servers
METHOD_TINTS = {"alpha": (180, 90, 60), "beta": (60, 140, 90)}


def make_runs(root: Path, per_method: int = 3, size: int = 12) -> list[Path]:
    """One folder per method with PNGs at the same relative paths (in a sub-folder)."""
    rng = np.random.default_rng(0)
    runs = []
    for name, tint in METHOD_TINTS.items():
        for i in range(per_method):
            shade = rng.uniform(0.5, 1.0, (size, size, 1))
            img = np.clip(np.array(tint)[None, None] * shade, 0, 255).astype(np.uint8)
            path = root / name / "scenes" / f"scene_{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(path)
        runs.append(root / name)
    return runs


def make_study(tmp_path: Path, images: int = 2) -> Path:
    from rscolor.study.plan import StudyOptions, open_study  # the study extra (Flask)

    runs = make_runs(tmp_path / "runs")
    db_path = tmp_path / "study.sqlite"
    open_study(db_path, StudyOptions(tuple(str(r) for r in runs), images=images))
    return db_path


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in page"
    return match.group(1)


@contextmanager
def running_server(db_path: Path) -> Iterator[str]:
    """The study app on 127.0.0.1 at a free port, in a thread; yields its base URL and
    always stops it."""
    from rscolor.study.app import create_app
    from rscolor.study.server import make_study_server

    server = make_study_server(create_app(db_path), "127.0.0.1", 0, quiet=True)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "study server thread did not stop"


# ---------------------------------------------- the method configs at test size
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
    path = method_config_path(CONFIGS, key, scale)
    return load_config(path, TINY if tiny else None, drop_others=True)


# ------------------------------------------------------ the CLI in-process
def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """`rscolor ARGS` in this process: (exit code, stdout, stderr)."""
    from rscolor.cli.main import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_user_error(code: int, err: str, needle: str) -> None:
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("rscolor: error:") and needle in lines[0], lines[0]
    assert "Traceback" not in err
