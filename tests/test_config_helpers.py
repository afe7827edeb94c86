"""The nested-config helpers and the runtime fields, in one place (config.py)."""

from __future__ import annotations

import pytest

from rscolor.config import (
    RUNTIME_FIELDS,
    dotted_diff,
    flatten,
    get_dotted,
    parse_overrides,
    set_dotted,
    unflatten,
    without_runtime,
)
from rscolor.errors import UserError


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
