"""The nested-config helpers and the runtime fields, in one place (config.py)."""

from __future__ import annotations

import pytest

from rscolor.config import RUNTIME_FIELDS, without_runtime
from rscolor.errors import UserError
from rscolor.utils.dotted import (
    dotted_diff,
    flatten,
    get_dotted,
    parse_overrides,
    set_dotted,
    unflatten,
)


def test_flatten_and_unflatten_are_inverse() -> None:
    tree = {"train": {"epochs": 2, "seed": 1}, "data": {"crop_size": 32}, "method": "x"}
    flat = flatten(tree)
    assert flat == {"train.epochs": 2, "train.seed": 1, "data.crop_size": 32, "method": "x"}
    assert unflatten(flat) == tree


def test_dotted_get_set_and_diff() -> None:
    tree: dict = {}
    set_dotted(tree, "a.b.c", 1)
    assert tree == {"a": {"b": {"c": 1}}}
    assert get_dotted(tree, "a.b.c") == 1
    assert get_dotted(tree, "a.x.y") == {}
    with pytest.raises(ValueError):
        set_dotted(tree, "a.b.c.d", 2)
    assert dotted_diff(tree, {"a": {"b": {"c": 2}, "e": 3}}) == ["a.b.c", "a.e"]


def test_runtime_fields_do_not_change_the_result() -> None:
    """data.cache rounds the cached images to float16: it changes what is learnt."""
    assert "data.cache" not in RUNTIME_FIELDS
    assert {"train.device", "data.num_workers", "data.root"} <= RUNTIME_FIELDS
    cfg = {"train": {"device": "cpu", "epochs": 1}, "data": {"cache": True, "root": "/x"}}
    assert without_runtime(cfg) == {"train": {"epochs": 1}, "data": {"cache": True}}


def test_overrides_conflict_is_a_user_error() -> None:
    assert parse_overrides(["train.epochs=1", "data.rescale=[0.5, 1]"]) == {
        "train": {"epochs": 1},
        "data": {"rescale": [0.5, 1]},
    }
    with pytest.raises(UserError, match="conflicts"):
        parse_overrides(["train=1", "train.epochs=2"])


def test_old_multiscale_names_load_as_the_new_ones() -> None:
    """Configs and checkpoints written before the rename name both Multi-G's generator and
    Multi-D's discriminator ``multiscale``."""
    from rscolor.experiment import ExperimentConfig, config_from_dict

    cfg = config_from_dict({"generator": {"name": "multiscale"}})
    assert cfg.generator.name == "multiscale_g"
    cfg = config_from_dict({"generator": {"name": "unet"}, "discriminator": {"name": "multiscale"}})
    assert cfg.discriminator.name == "multiscale_d"
    old = {"generator": {"name": "multiscale"}, "train": {"device": "cpu"}}
    assert without_runtime(old)["generator"] == {"name": "multiscale_g"}
    assert ExperimentConfig().generator.name == "joint_stream"


def test_a_checkpoint_naming_the_old_multiscale_generator_still_loads(tmp_path) -> None:
    from rscolor.experiment import config_from_dict
    from rscolor.inference.colorizer import load_colorizer
    from rscolor.modelfile import inference_payload, save_checkpoint
    from rscolor.models.registry import build_generator

    raw = {"color_space": "yuv", "generator": {"name": "multiscale", "ngf": 4, "depth": 3},
           "data": {"crop_size": 32}}  # fmt: skip
    cfg = config_from_dict(raw)
    payload = inference_payload(build_generator(cfg), cfg, {"mean_ab": [0.0, 0.0]})
    payload["config"]["generator"]["name"] = "multiscale"  # as written before the rename
    save_checkpoint(tmp_path / "old.pt", payload)
    colorizer = load_colorizer(tmp_path / "old.pt", "cpu")
    assert colorizer.cfg.generator.name == "multiscale_g"


def test_a_recorded_config_without_a_later_field_is_the_same_run() -> None:
    """A config recorded before a field with a default was added (here loss.chroma_weight)
    reads as today's: no config difference for the suite, no ignored change on resume."""
    from rscolor.experiment import ExperimentConfig, upgraded
    from rscolor.training.state import resume_config

    now = ExperimentConfig()
    recorded = now.to_dict()
    del recorded["loss"]["chroma_weight"]
    assert dotted_diff(without_runtime(recorded), without_runtime(now.to_dict())) == [
        "loss.chroma_weight"
    ]
    assert dotted_diff(without_runtime(upgraded(recorded)), without_runtime(now.to_dict())) == []
    merged, ignored = resume_config(recorded, now)
    assert ignored == [] and merged["loss"]["chroma_weight"] == 0.0
    recorded["loss"]["removed_field"] = 1  # no longer validates: only renamed
    assert upgraded(recorded)["loss"]["removed_field"] == 1
