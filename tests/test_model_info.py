"""`rscolor info`: what a model file holds, from a torch checkpoint and from an ONNX export
(whose flat rscolor.* metadata a GIS plugin reads)."""

import json
from pathlib import Path

import pytest

from rscolor.inference.colorizer import shipped_model_path
from rscolor.inference.model_info import read_model_info
from rscolor.modelfile import inference_payload, load_checkpoint, save_checkpoint
from rscolor.scene.pipeline import default_overlap

from .helpers import assert_user_error, run_cli, tiny_colorizer

META = {"gsd_m": 0.5, "scene_px": 600, "data": "AID (test)", "saturation": 0.8}


@pytest.fixture(scope="module")
def described(tmp_path_factory) -> tuple[Path, Path]:
    """(tiny checkpoint whose meta records gsd_m and scene_px, its `rscolor export`)."""
    from rscolor.cli.main import main

    root = tmp_path_factory.mktemp("info")
    col = tiny_colorizer()
    ckpt = root / "tiny.pt"
    save_checkpoint(ckpt, inference_payload(col.generator, col.cfg, {**col.meta.to_dict(), **META}))
    try:
        main(["export", "--checkpoint", str(ckpt), "-o", str(root / "tiny.onnx")])
    except SystemExit as exc:  # pragma: no cover - shows the error if export fails
        raise AssertionError(f"export exited {exc.code}") from None
    return ckpt, root / "tiny.onnx"


def lines_of(text: str) -> dict[str, str]:
    return {line[:16].strip(): line[16:] for line in text.splitlines()}


def test_info_on_the_shipped_model(capsys) -> None:
    meta = load_checkpoint(shipped_model_path())["meta"]
    code, out, _ = run_cli(["info"], capsys)
    facts = lines_of(out)
    assert code == 0 and facts["method"].startswith(meta["method"])
    assert facts["training data"] == meta["data"]
    assert f"saturation {meta['saturation']:g}" in facts["calibration"]
    assert f"max_chroma {meta['max_chroma']:g}" in facts["calibration"]
    assert facts["tiles"].startswith(f"{2 * meta['train_size']} px, overlap")
    if meta.get("gsd_m") is None:  # the model trained before issue 11 records none
        assert facts["gsd"].startswith("unknown") and facts["scene size"] == "unknown"
    else:
        assert f"({100 * meta['gsd_m']:g} cm/px)" in facts["gsd"]
    code, out, _ = run_cli(["info", "--json"], capsys)
    data = json.loads(out)
    assert data["parameters"] > 1_000_000 and data["format"] == "torch"
    overlap = default_overlap(data["tile_size"], data["size_multiple"])
    assert data["tile_overlap"] == overlap and data["meta"] == meta


def test_info_on_an_exported_onnx_file(described, capsys) -> None:
    ckpt, onnx_path = described
    code, out, _ = run_cli(["info", onnx_path], capsys)
    facts = lines_of(out)
    assert code == 0 and "(onnx," in facts["model"]
    assert facts["gsd"] == "0.5 m per pixel (50 cm/px)"
    assert facts["scene size"] == "600 px, 300 m a side"
    assert facts["calibration"] == "saturation 0.8, max_chroma none"
    torch_facts, onnx_facts = read_model_info(ckpt).to_dict(), read_model_info(onnx_path).to_dict()
    for key in ("method", "parameters", "train_size", "size_multiple", "gsd_cm_per_px",
                "scene_px", "tile_size", "tile_overlap", "tile_margin", "meta"):  # fmt: skip
        assert onnx_facts[key] == torch_facts[key], key


def test_onnx_key_values_a_plugin_reads_without_rscolor(described) -> None:
    import onnxruntime as ort

    _, onnx_path = described
    props = ort.InferenceSession(str(onnx_path)).get_modelmeta().custom_metadata_map
    facts = read_model_info(onnx_path)
    assert props["rscolor.gsd_cm_per_px"] == "50" and props["rscolor.gsd_m"] == "0.5"
    assert props["rscolor.scene_px"] == "600" and props["rscolor.train_size"] == "32"
    assert props["rscolor.tile_size"] == str(facts.tile_size) == "64"
    # 3/8 of 64 would step 40 px, not a multiple of the tiny model's 16: the step rounds up to 48
    assert facts.size_multiple == 16
    assert props["rscolor.tile_overlap"] == str(facts.tile_overlap) == "16"
    assert json.loads(props["rscolor.meta"])["data"] == "AID (test)"
    assert "rscolor.max_chroma" not in props  # unknown values are left out, never "None"


def test_info_errors_are_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["info", tmp_path / "missing.pt"], capsys)
    assert_user_error(code, err, "model not found")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all")
    code, _, err = run_cli(["info", tmp_path / "junk.onnx"], capsys)
    assert_user_error(code, err, "junk.onnx")
    (tmp_path / "junk.pt").write_bytes(b"nope")
    code, _, err = run_cli(["info", tmp_path / "junk.pt"], capsys)
    assert_user_error(code, err, "cannot read checkpoint")
