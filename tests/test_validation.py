"""Limits and validation: numeric config ranges, devices, split manifests that know their
data, failed runs that leave nothing behind, honest metric names, evaluate --split all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rscolor.cli.main import main
from rscolor.data.split import Split, load_or_make_split, make_split
from rscolor.errors import UserError
from rscolor.experiment import config_from_dict
from rscolor.training.trainer import Trainer

from .helpers import (
    all_sections,
    assert_one_line_error,
    make_scene_tree,
    run_rscolor,
    tiny_config,
)
from .test_bounds import field_limits

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cpu" / "jsdcgan.yaml"


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("train.epochs=0", "train.epochs"),
        ("train.batch_size=0", "train.batch_size"),
        ("data.crop_size=0", "data.crop_size"),
        ("data.split_ratios=[0,1,1]", "data.split_ratios.0"),
        ("data.split_ratios=[3,-1,1]", "data.split_ratios.1"),
        ("train.threads=-1", "train.threads"),
        ("optim.lr=-0.001", "optim.lr"),
        ("optim.beta1=1.5", "optim.beta1"),
        ("generator.dropout=1", "generator.dropout"),
        ("train.device=tpu", "train.device"),
        ("data.rescale=[0,2]", "data.rescale.0"),
        ("data.rescale=[2,0.5]", "data.rescale"),
    ],
)
def test_out_of_range_config_values_are_one_line_errors(tmp_path, capsys, setting, field):
    args = ["train", "-c", CONFIG, "--data", tmp_path, "--out", tmp_path / "run", "--set", setting]
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and err.startswith("rscolor: error:") and field in err, err
    assert not (tmp_path / "run").exists()


def test_epochs_0_through_the_console_script(tmp_path) -> None:
    proc = run_rscolor("train", "-c", CONFIG, "--data", tmp_path, "--set", "train.epochs=0")
    assert_one_line_error(proc, "train.epochs: Input should be greater than or equal to 1")


def test_every_numeric_config_field_has_a_range() -> None:
    """A new int/float field without ge/gt (or an explicit reason) fails here."""
    unchecked = []
    for section, model in all_sections():
        for name, field in model.model_fields.items():
            text = str(field.annotation)
            numeric = any(t in text for t in ("int", "float")) and "Literal" not in text
            bounded = any(hasattr(m, a) for m in field_limits(field) for a in ("ge", "gt"))
            if numeric and not bounded and "tuple" not in text and name != "split_seed":
                unchecked.append(f"{section}.{name}")
    assert unchecked == []


def test_unknown_device_is_a_one_line_error(tmp_path) -> None:
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    proc = run_rscolor("colorize", image, "-o", tmp_path / "out", "--device", "tpu")
    assert_one_line_error(proc, "unknown device 'tpu'")


def test_a_manifest_from_other_data_is_refused_or_remade(tmp_path) -> None:
    data = make_scene_tree(tmp_path / "data", per_class=5, size=16)
    manifest = tmp_path / "split.json"
    first = load_or_make_split(data, manifest, (3, 1, 1), 0)
    body = json.loads(manifest.read_text())
    assert body["data"]["images"] == 15 and len(body["data"]["sha256"]) == 64
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(data / "pond" / "new.png")
    with pytest.raises(UserError, match="made from other data"):
        load_or_make_split(data, manifest, (3, 1, 1), 0)
    remade = load_or_make_split(data, manifest, (3, 1, 1), 0, remake=True)
    assert len(remade.files("all")) == 16 == len(first.files("all")) + 1
    assert Split.load(manifest).describes(data)


def test_a_failed_run_leaves_no_run_folder_and_a_stale_split_is_remade(tmp_path) -> None:
    data = make_scene_tree(tmp_path / "data", per_class=5, size=40)
    run = tmp_path / "run"
    cfg = tiny_config(train__epochs=1)
    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    (broken / "pond" / "pond_000.png").write_bytes(b"not an image")
    with pytest.raises(UserError):
        Trainer(cfg, run, broken, progress=False).fit()
    assert not run.exists()  # nothing half-made for the next run to pick up
    # A split.json left by something else in the run folder is remade for new data.
    run.mkdir()
    make_split(tmp_path / "broken").save(run / "split.json")
    (broken / "pond" / "pond_000.png").unlink()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(data / "pond" / "extra.png")
    Trainer(cfg, run, data, progress=False).fit()
    assert Split.load(run / "split.json").describes(data)
    assert "pond/extra.png" in Split.load(run / "split.json").files("all")


def test_without_validation_images_the_score_is_named_train_l1(tmp_path) -> None:
    data = make_scene_tree(tmp_path / "data", per_class=4, size=40)
    cfg = tiny_config(train__epochs=1, data={"crop_size": 32, "split_ratios": (1, 0, 0)})
    Trainer(cfg, tmp_path / "run", data, progress=False).fit()
    meta = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["meta"]
    assert meta["select_metric"] == "train_l1"


def test_evaluate_split_all_scores_every_image(tmp_path) -> None:
    data = make_scene_tree(tmp_path / "data", per_class=4, size=32)
    run = tmp_path / "run"
    run.mkdir()
    model = run / "best.pt"
    assert run_rscolor("export", "-o", model, "--format", "torch-fp16").returncode == 0
    small = Split(root=str(data), train=["beach/beach_000.jpg"], test=["pond/pond_001.png"])
    small.save(run / "split.json")  # a manifest that lists two images only
    out = tmp_path / "eval.json"
    proc = run_rscolor("evaluate", "--data", data, "--checkpoint", model, "--split", "all",
                       "--out", out)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["rows"]["model"]["images"] == 12


def test_config_validation_keeps_defaults_valid() -> None:
    assert config_from_dict({}).train.epochs == 30
