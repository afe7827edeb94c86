"""The model file module: files written before it (the shipped model, older metadata) load,
and the typed metadata reads every older ``meta`` dict and gives it back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rscolor.inference.colorizer import load_colorizer, shipped_model_path
from rscolor.modelfile import (
    FORMAT,
    ModelMeta,
    generator_from_checkpoint,
    load_checkpoint,
    model_meta,
)
from rscolor.models import build_generator

from .conftest import tiny_config

# The meta of the model shipped before the module existed (commit 5cc04e4).
SHIPPED_META = {
    "method": "jsdcgan", "color_space": "lab", "train_size": 128,
    "mean_ab": [-2.7570726741523726, 5.496387201037], "best_epoch": 2,
    "best_score": 6.696934823989868, "select_metric": "ciede2000", "data": "aid-nwpu",
    "gsd_note": "a note", "gsd_m": 2.0, "scene_px": 150, "saturation": 1.4, "max_chroma": 40.13,
}  # fmt: skip


def test_meta_round_trips_every_older_form() -> None:
    assert ModelMeta.from_dict(SHIPPED_META).to_dict() == SHIPPED_META
    old = {"method": "jsdcgan", "train_size": 128, "mean_ab": [1.0, 2.0], "scene_scale": 0.5}
    assert ModelMeta.from_dict(old).to_dict() == old  # before gsd_m and scene_px
    assert ModelMeta.from_dict(None) == ModelMeta() and ModelMeta().to_dict() == {}
    typed = ModelMeta.from_dict({**old, "some_future_key": [1, "x"]})
    assert typed.scene_scale == 0.5 and typed.mean_ab == (1.0, 2.0) and typed.gsd_m is None
    assert typed.extra == {"some_future_key": [1, "x"]}
    assert typed.to_dict()["some_future_key"] == [1, "x"]


def test_meta_of_a_training_run_drops_only_unset_values() -> None:
    written = {**SHIPPED_META, "gsd_m": None, "scene_px": None}  # the trainer writes None
    expected = {k: v for k, v in written.items() if v is not None}
    assert ModelMeta.from_dict(written).to_dict() == expected


def test_the_shipped_model_loads_and_its_meta_is_typed() -> None:
    ckpt = load_checkpoint(shipped_model_path())
    meta = model_meta(ckpt)
    assert meta.to_dict() == ckpt["meta"]
    assert meta.gsd_m and meta.scene_px and meta.train_size == 128
    colorizer = load_colorizer(None, "cpu")
    assert colorizer.saturation == meta.saturation and colorizer.max_chroma == meta.max_chroma


def test_a_file_in_the_first_format_loads(tmp_path: Path) -> None:
    """Version 1 as first written: a plain torch.save of a dict, fp16 weights, a meta from
    before gsd_m / scene_px / saturation (a fixed scene_scale)."""
    cfg = tiny_config()
    torch.manual_seed(0)
    gen = build_generator(cfg).eval()
    state = {k: v.half() if v.is_floating_point() else v for k, v in gen.state_dict().items()}
    meta = {"method": "tiny", "train_size": 32, "mean_ab": [0.5, -0.5], "scene_scale": 0.5}
    path = tmp_path / "old.pt"
    body = {"format": FORMAT, "version": 1, "config": cfg.to_dict(), "generator": state,
            "meta": meta}  # fmt: skip
    torch.save(body, path)
    ckpt = load_checkpoint(path)
    assert model_meta(ckpt).scene_scale == 0.5
    generator_from_checkpoint(ckpt)
    colorizer = load_colorizer(path, "cpu")
    assert colorizer.meta.to_dict() == meta and colorizer.train_size == 32
    assert colorizer.saturation == 1.0 and colorizer.max_chroma is None
    rgb = colorizer.colorize(np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32))
    assert rgb.shape == (32, 32, 3)
