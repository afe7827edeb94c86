"""Issue 23: the fuzz suite. Property-based tests (Hypothesis) of what users and files hand
rscolor: configs, --set overrides, model metadata, the command line's numbers, pictures
and rasters. The property everywhere: a result that is valid, or one UserError line;
never another exception.

A fixed seed (``derandomize``) and no example database, so CI runs the same examples every
time; RSCOLOR_FUZZ_EXAMPLES examples per property (default 1000: about a minute on 2 busy
cores; e.g. RSCOLOR_FUZZ_EXAMPLES=5000 for a long run).
"""

from __future__ import annotations

import io
import math
import os
import string
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from rscolor.cli.colorize_cmd import parse_pair
from rscolor.data.images import read_gray, read_image
from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig, config_from_dict, load_config, section_models
from rscolor.inference.model_info import terminal_safe
from rscolor.modelfile import META_NUMBERS, ModelMeta, checked_meta
from rscolor.scene.scale import MAX_SCALE, parse_scale
from rscolor.utils.device import check_threads
from rscolor.utils.dotted import parse_overrides

EXAMPLES = int(os.environ.get("RSCOLOR_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**31, 2**63, 1e308, float("nan"), float("inf")]),
)
scalars = st.one_of(numbers, st.booleans(), st.none(), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)


def _fields() -> list[str]:
    out = []
    for section, models in section_models().items():
        out += [f"{section}.{name}" for model in models for name in model.model_fields]
    out += [s for s in ExperimentConfig.model_fields if s not in section_models()]
    return list(dict.fromkeys(out))


FIELDS = _fields()


# ------------------------------------------------------------------ configs
@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
def test_any_config_values_load_or_give_one_user_error(changes: dict) -> None:
    tree: dict = {}
    for key, value in changes.items():
        section, _, name = key.partition(".")
        if name:
            tree.setdefault(section, {})[name] = value
        else:
            tree[section] = value
    try:
        cfg = config_from_dict(tree, "fuzz.yaml")
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.yaml")
        return
    assert cfg.data.crop_size <= 4096 and cfg.generator.ngf <= 256
    assert cfg.data.crop_size >= 2**cfg.generator.depth


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_config_file_bytes_load_or_give_one_user_error(tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_bytes(data)
    try:
        load_config(path)
    except UserError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(st.lists(st.text(alphabet=string.printable, max_size=30), max_size=4))
def test_any_set_overrides_parse_or_give_one_user_error(items: list[str]) -> None:
    try:
        tree = parse_overrides(items)
        config_from_dict(tree, "--set")
    except UserError as exc:
        assert "\n" not in str(exc)


# ----------------------------------------------------------- model metadata
@FUZZ
@given(st.dictionaries(st.sampled_from(ModelMeta.known_keys()) | st.text(max_size=8), values,
                       max_size=6))  # fmt: skip
def test_any_model_metadata_is_validated_or_refused(meta: dict) -> None:
    try:
        typed = checked_meta(meta, "model.pt")
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("model.pt: model metadata")
        return
    for name in ("gsd_m", "saturation", "max_chroma", "scene_scale", "train_size"):
        value = getattr(typed, name)
        low, high = META_NUMBERS[name][1:]
        assert value is None or (math.isfinite(value) and low <= value <= high)
    assert typed.flip_average in (None, True, False)


@FUZZ
@given(st.text(max_size=400))
def test_info_text_never_carries_control_characters(text: str) -> None:
    safe = terminal_safe(text, 100)
    assert all(c.isprintable() for c in safe)
    assert len(safe) <= 100 * 10 + 40  # an escape is at most 10 characters


# ------------------------------------------------------------ CLI numbers
@FUZZ
@given(st.text(max_size=12) | numbers.map(str))
def test_scale_and_pairs_parse_or_give_one_user_error(text: str) -> None:
    for parse in (parse_scale, lambda t: parse_pair(t, "--value-range")):
        try:
            value = parse(text)
        except UserError as exc:
            assert "\n" not in str(exc)
            continue
        if parse is parse_scale and value is not None:
            assert 0 < value <= MAX_SCALE


@FUZZ
@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_threads_are_between_one_and_the_cores(threads: int) -> None:
    try:
        check_threads(threads)
    except UserError:
        assert not 1 <= threads <= (os.cpu_count() or 1)
    else:
        assert 1 <= threads <= (os.cpu_count() or 1)


# ------------------------------------------------------- pictures and rasters
def _picture_bytes(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


SEEDS = {"png": _picture_bytes("PNG"), "jpg": _picture_bytes("JPEG")}


def _mutated(seed: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(seed)
    for where, byte in edits:
        data[where % len(data)] = byte
    return bytes(data[: max(1, len(data) - cut)])


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6)


@FUZZ
@given(st.sampled_from(sorted(SEEDS)), edits, st.integers(0, 64))
def test_damaged_pictures_decode_or_give_one_user_error(tmp_path_factory, kind, change, cut):
    path = tmp_path_factory.mktemp("pic") / f"p.{kind}"
    path.write_bytes(_mutated(SEEDS[kind], change, cut))
    for read in (read_image, read_gray):
        try:
            image = read(path)
        except UserError as exc:
            assert "\n" not in str(exc)
            continue
        assert image.dtype == np.float32 and np.isfinite(image).all()
        assert image.min() >= 0 and image.max() <= 1


@pytest.fixture(scope="module")
def tiff_seed(tmp_path_factory) -> bytes:
    rasterio = pytest.importorskip("rasterio")
    path = tmp_path_factory.mktemp("tif") / "seed.tif"
    data = (np.arange(16 * 16).reshape(16, 16) * 97 % 4000).astype(np.uint16)
    with rasterio.open(path, "w", driver="GTiff", width=16, height=16, count=1,
                       dtype="uint16", crs="EPSG:32633", nodata=0,
                       transform=rasterio.Affine(2, 0, 5e5, 0, -2, 4e6)) as dst:  # fmt: skip
        dst.write(data, 1)
    return path.read_bytes()


@FUZZ
@given(edits, st.integers(0, 200))
@example(change=[(1954, 122), (22433, 0)], cut=0)  # a CRS that is not UTF-8 (5000-run find)
def test_damaged_rasters_read_or_give_one_user_error(tmp_path_factory, tiff_seed, change, cut):
    from rscolor.scene.raster import RasterSource

    path = tmp_path_factory.mktemp("ras") / "r.tif"
    path.write_bytes(_mutated(tiff_seed, change, cut))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with RasterSource(path) as src:
                gray, valid = src.read(0, src.height, 0, src.width)
                size = src.pixel_size
        except UserError as exc:
            assert "\n" not in str(exc)
            return
    assert gray.shape == valid.shape and np.isfinite(gray).all()
    assert size is None or (math.isfinite(size) and size > 0)


def test_the_profile_is_fixed() -> None:
    assert FUZZ.derandomize and FUZZ.database is None
    assert yaml.safe_load("a: 1") == {"a": 1} and Path(__file__).is_file()
