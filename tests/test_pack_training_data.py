"""scripts/pack_training_data.py: the JPEG copy of a tree's train and val images keeps the
class layout and the exact split (the trainer takes its manifest as is), holds no test
image, and has the asked subsampling and luma / chroma qualities. And
benchmarks/gpu_ship_plan.py, the GPU job's two decisions."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from rscolor.data.split import load_or_make_split, make_split, relative_images
from rscolor.utils.sampling import evenly_spaced

from .helpers import load_script


@pytest.fixture(scope="module")
def pack_script() -> ModuleType:
    return load_script("scripts/pack_training_data.py")


def _stems(files: list[str]) -> set[str]:
    return {str(Path(f).with_suffix("")) for f in files}


def test_the_copy_keeps_classes_and_split_without_test(pack_script, scene_tree, tmp_path):
    split = make_split(scene_tree)
    out = tmp_path / "packed"
    packed = pack_script.pack(scene_tree, out, split, quality=(90, 90), workers=1)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == split.classes()
    files = relative_images(out)
    assert all(f.endswith(".jpg") for f in files)  # .png and .tif renamed
    assert _stems(files) == _stems(split.train + split.val)
    assert not _stems(files) & _stems(split.test)
    assert _stems(packed.train) == _stems(split.train)
    assert _stems(packed.val) == _stems(split.val) and packed.test == []
    # the trainer (training.setup.prepare_split) copies --split-manifest and keeps it
    run = tmp_path / "run"
    run.mkdir()
    shutil.copyfile(out / "split.json", run / "split.json")
    reread = load_or_make_split(out, run / "split.json", split.ratios, split.seed)
    assert (reread.train, reread.val) == (packed.train, packed.val)
    # remade from the copy, the split would differ: the copy must carry its manifest
    assert make_split(out).train != packed.train
    record = json.loads((out / "split.json").read_text())["packed_from"]
    assert record["test_images_left_out"] == len(split.test)


@pytest.mark.parametrize("subsampling, code", [("4:4:4", 0), ("4:2:0", 2)])
def test_jpeg_subsampling_and_luma_chroma_qualities(
    pack_script, scene_tree, tmp_path, subsampling, code
):
    out = tmp_path / "packed"
    split = make_split(scene_tree)
    pack_script.pack(scene_tree, out, split, (40, 95), workers=1, subsampling=subsampling)
    with Image.open(out / relative_images(out)[0]) as img:
        assert img.format == "JPEG" and JpegImagePlugin.get_sampling(img) == code
        luma, chroma = img.quantization[0], img.quantization[1]
    assert list(luma) == pack_script.scaled_table(pack_script.LUMA_TABLE, 40)
    assert list(chroma) == pack_script.scaled_table(pack_script.CHROMA_TABLE, 95)
    jpeg = json.loads((out / "split.json").read_text())["packed_from"]["jpeg"]
    assert jpeg == {"luma_quality": 40, "chroma_quality": 95, "subsampling": subsampling}


def test_equal_qualities_are_pillows_quality(pack_script):
    rgb = np.asarray(Image.new("RGB", (24, 24), (120, 60, 30)))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=75, subsampling=0, optimize=True)
    assert pack_script.encode(rgb, (75, 75), 0) == buf.getvalue()
    assert pack_script.parse_quality("60:90") == (60, 90)
    assert pack_script.parse_quality("75") == (75, 75)


def test_val_limit_keeps_the_evenly_spaced_val_images(pack_script, scene_tree, tmp_path):
    split = make_split(scene_tree)
    out = tmp_path / "packed"
    packed = pack_script.pack(scene_tree, out, split, (90, 90), workers=1, val_limit=2)
    assert _stems(packed.val) == _stems(evenly_spaced(split.val, 2))
    assert _stems(packed.train) == _stems(split.train)
    assert len(relative_images(out)) == len(split.train) + 2


def test_a_copy_with_other_images_is_refused(pack_script, scene_tree, tmp_path):
    split = make_split(scene_tree)
    out = tmp_path / "packed"
    pack_script.pack(scene_tree, out, split, (90, 90), workers=1)
    test_image = scene_tree / split.test[0]
    shutil.copyfile(test_image, out / split.test[0])
    with pytest.raises(SystemExit, match="does not describe"):
        pack_script.check_packed(split, out)


def test_names_that_would_collide_are_refused(pack_script):
    assert pack_script.packed_name("a/x.tif") == "a/x.jpg"
    assert pack_script.packed_name("a/x.jpg") == "a/x.jpg"
    with pytest.raises(SystemExit, match="both"):
        pack_script.packed_names(["a/x.png", "a/x.tif"])


def test_measure_prints_size_and_damage(pack_script, scene_tree):
    split = make_split(scene_tree)
    table = pack_script.measure(scene_tree, split.train, [(50, 50), (95, 95)], 2, workers=1)
    rows = [line for line in table.splitlines() if line.startswith("| 50") or "| 95" in line]
    damage = [float(r.split("|")[3]) for r in rows]
    assert len(rows) == 2 and damage[0] > damage[1] > 0


def test_gpu_plan_epochs_and_export_args(tmp_path):
    plan = load_script("benchmarks/gpu_ship_plan.py")
    probe = tmp_path / "probe.json"
    probe.write_text(json.dumps({"rows": [{"images_per_s": 1000.0}]}))
    manifest = tmp_path / "split.json"
    manifest.write_text(json.dumps({"train": ["a"] * 7500}))
    args = plan.parse_args(
        ["epochs", "--probe", str(probe), "--manifest", str(manifest), "--train-s", "400"]
    )
    assert plan.fit_epochs(args) == 18  # (400 - 60) / (7500 / 750 + 8)
    calib = tmp_path / "calibration.json"
    calib.write_text(json.dumps({"chosen": "gain 1.2", "max_chroma": 40.131}))
    assert plan.export_args(calib) == ["--saturation", "1.2", "--max-chroma", "40.13"]
    calib.write_text(json.dumps({"chosen": "gain 1 cap 32", "max_chroma": 40.1}))
    assert plan.export_args(calib) == ["--saturation", "1", "--max-chroma", "32.00"]
    calib.write_text(json.dumps({"chosen": None, "max_chroma": None}))
    assert plan.export_args(calib) == ["--saturation", "1"]
