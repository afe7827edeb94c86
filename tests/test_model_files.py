"""Issue 23, items 4 and 5: a model file's parts and metadata are validated on load (types,
finite, ranges; a hand-made .pt or .onnx is one line in the CLI and the QGIS plugin), and
`rscolor info` escapes a model's strings and cuts long ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rscolor.errors import UserError
from rscolor.modelfile import FORMAT

from .helpers import assert_user_error, run_cli, save_tiny_checkpoint, tiny_config, write_geotiff

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> dict:
    path = save_tiny_checkpoint(tmp_path_factory.mktemp("m") / "tiny.pt")
    return torch.load(path, weights_only=True)


@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("p") / "ok.png"
    Image.fromarray(np.linspace(0, 255, 24 * 24).reshape(24, 24).astype(np.uint8)).save(path)
    return path


def _variant(payload: dict, change: dict | None = None, meta: dict | None = None, drop=()):
    body = {**payload, **(change or {})}
    if meta is not None:
        body["meta"] = {**payload["meta"], **meta}
    for key in drop:
        body.pop(key)
    return body


BAD_PT = {
    "format_only": lambda p: {"format": FORMAT, "version": 1},
    "no_config": lambda p: _variant(p, drop=("config",)),
    "no_generator": lambda p: _variant(p, drop=("generator",)),
    "generator_str": lambda p: _variant(p, {"generator": "weights"}),
    "config_list": lambda p: _variant(p, {"config": [1, 2]}),
    "meta_list": lambda p: _variant(p, {"meta": ["a", "b"]}),
    "sat_str": lambda p: _variant(p, meta={"saturation": "abc"}),
    "sat_nan": lambda p: _variant(p, meta={"saturation": float("nan")}),
    "sat_huge": lambda p: _variant(p, meta={"saturation": 1e308}),
    "sat_neg": lambda p: _variant(p, meta={"saturation": -3.0}),
    "chroma_neg": lambda p: _variant(p, meta={"max_chroma": -1.0}),
    "gsd_nan": lambda p: _variant(p, meta={"gsd_m": float("nan")}),
    "gsd_neg": lambda p: _variant(p, meta={"gsd_m": -5.0}),
    "gsd_inf": lambda p: _variant(p, meta={"gsd_m": float("inf")}),
    "gsd_str": lambda p: _variant(p, meta={"gsd_m": "abc"}),
    "flip_no": lambda p: _variant(p, meta={"flip_average": "no"}),
    "scene_str": lambda p: _variant(p, meta={"scene_px": "x"}),
    "train_size_0": lambda p: _variant(p, meta={"train_size": 0}),
    "mean_ab_5": lambda p: _variant(p, meta={"mean_ab": 5}),
    "mean_ab_str": lambda p: _variant(p, meta={"mean_ab": ["a", "b"]}),
    "curve_nan": lambda p: _variant(p, meta={"chroma_curve": [[0, float("nan")], [0, 1]]}),
}


@pytest.mark.parametrize("name", sorted(BAD_PT))
def test_a_hand_made_checkpoint_is_one_line_in_info_and_colorize(
    name, payload, picture, tmp_path, capsys
) -> None:
    path = tmp_path / f"{name}.pt"
    torch.save(BAD_PT[name](payload), path)
    code, _, err = run_cli(["info", path], capsys)
    assert_user_error(code, err, str(path))
    code, _, err = run_cli(["colorize", picture, "-o", tmp_path / "out", "--checkpoint", path,
                            "--quiet"], capsys)  # fmt: skip
    assert_user_error(code, err, str(path))
    assert not (tmp_path / "out" / "ok.png").exists()


def test_valid_metadata_still_loads(payload) -> None:
    from rscolor.modelfile import ModelMeta, checked_meta

    good = {"saturation": 0.8, "flip_average": False, "gsd_m": 2.0, "best_score": float("nan")}
    meta = checked_meta({**payload["meta"], **good, "new_key": [1]}, "m")
    assert meta.saturation == 0.8 and meta.flip_average is False and meta.extra == {"new_key": [1]}
    assert checked_meta(None, "m") == ModelMeta()
    with pytest.raises(UserError, match="m: model metadata: saturation: expected at most 4"):
        checked_meta({"saturation": 5}, "m")


# ----------------------------------------------------------------------- ONNX
def _onnx_model(out_channels: int = 2, input_name: str = "lum", info: object = None) -> bytes:
    """A one-conv graph (B x 1 x H x W -> B x out_channels x H x W) carrying `info` as
    its rscolor metadata (default: a tiny Lab model's)."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((out_channels, 1, 1, 1), 0.01, np.float32), "w")
    node = helper.make_node("Conv", [input_name, "w"], ["target"])
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["b", 1, "h", "w"])],
        [helper.make_tensor_value_info("target", TensorProto.FLOAT,
                                       ["b", out_channels, "h", "w"])],
        [weight],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    if info is None:
        info = {"config": tiny_config().to_dict(), "meta": {"train_size": 32},
                "size_multiple": 16}  # fmt: skip
    entry = model.metadata_props.add()
    entry.key, entry.value = "rscolor", json.dumps(info) if not isinstance(info, str) else info
    return model.SerializeToString()


def _info(**change) -> dict:
    base = {"config": tiny_config().to_dict(), "meta": {"train_size": 32}, "size_multiple": 16}
    return {k: v for k, v in {**base, **change}.items() if v is not None}


BAD_ONNX = {
    "json_list": lambda: _onnx_model(info=[1, 2]),
    "json_str": lambda: _onnx_model(info=json.dumps("text")),
    "no_config": lambda: _onnx_model(info=_info(config=None)),
    "no_size_multiple": lambda: _onnx_model(info=_info(size_multiple=None)),
    "sm_0": lambda: _onnx_model(info=_info(size_multiple=0)),
    "sm_abc": lambda: _onnx_model(info=_info(size_multiple="abc")),
    "sm_neg": lambda: _onnx_model(info=_info(size_multiple=-16)),
    "meta_list": lambda: _onnx_model(info=_info(meta=[1])),
    "meta_sat_str": lambda: _onnx_model(info=_info(meta={"saturation": "abc"})),
    "meta_gsd_str": lambda: _onnx_model(info=_info(meta={"gsd_m": "abc"})),
    "three_channels": lambda: _onnx_model(out_channels=3),
    "input_x": lambda: _onnx_model(input_name="x"),
}


@pytest.mark.parametrize("name", sorted(BAD_ONNX))
def test_a_hand_made_onnx_model_is_one_line_in_info_and_colorize(
    name, picture, tmp_path, capsys
) -> None:
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(BAD_ONNX[name]())
    if name not in ("three_channels", "input_x"):  # info reads metadata, not the graph
        code, _, err = run_cli(["info", path], capsys)
        assert_user_error(code, err, str(path))
    code, _, err = run_cli(["colorize", picture, "-o", tmp_path / "out", "--checkpoint", path,
                            "--quiet"], capsys)  # fmt: skip
    assert_user_error(code, err, str(path))


def test_a_well_formed_onnx_graph_runs(picture, tmp_path, capsys) -> None:
    path = tmp_path / "good.onnx"
    path.write_bytes(_onnx_model())
    code, _, err = run_cli(["colorize", picture, "-o", tmp_path / "out", "--checkpoint", path,
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "out" / "ok.png").is_file()


def test_the_qgis_plugin_relays_a_bad_model_as_one_line(payload, tmp_path) -> None:
    sys.path.insert(0, str(REPO / "qgis_plugin"))
    from rscolor_qgis import runner

    from .helpers import rscolor_command

    model = tmp_path / "no_config.pt"
    torch.save(BAD_PT["no_config"](payload), model)
    raster = tmp_path / "pan.tif"
    write_geotiff(raster, (np.arange(32 * 32).reshape(32, 32) * 50).astype(np.uint16))
    executable = Path(rscolor_command()[0])
    with pytest.raises(runner.RscolorError) as failure:
        runner.run(executable, runner.Job(raster, model=str(model)), tmp_path / "o.tif")
    message = str(failure.value)
    assert message.startswith("rscolor failed (exit 2): rscolor: error:"), message
    assert message.endswith("not a complete rscolor model (no config)"), message


# ----------------------------------------------------------------------- info
def test_info_escapes_control_characters_and_cuts_long_strings(payload, tmp_path, capsys):
    hostile = {
        "method": "\x1b[2J\x1b[31mEVIL\x1b]0;pwned-title\x07",
        "data": "\x1b[5mblink\x1b[0m\rOVERWRITTEN \x1b]8;;http://evil.example\x07click\u202e",
        "gsd_note": "x" * 100_000,
    }
    path = tmp_path / "esc.pt"
    torch.save(_variant(payload, meta=hostile), path)
    code, out, err = run_cli(["info", path], capsys)
    assert code == 0, err
    assert not any(ord(c) < 32 and c != "\n" for c in out), repr(out[:300])
    assert "\x7f" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out and "\\r" in out
    assert len(out) < 5000 and "more characters" in out
    code, out, err = run_cli(["info", path, "--json"], capsys)
    assert code == 0 and "\x1b" not in out and json.loads(out)["method"] == hostile["method"]
