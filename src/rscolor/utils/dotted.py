"""Nested config dicts addressed by dotted keys (``train.epochs``): merging YAML layers,
flattening for comparison, and the command line's ``--set SECTION.FIELD=VALUE``."""

from __future__ import annotations

from typing import Any

import yaml

from rscolor.errors import UserError


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 1}}`` -> ``{"train.epochs": 1}``."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    """``tree["a"]["b"] = value`` for key ``a.b``, making the parents; ValueError when a
    parent is already a value."""
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"{key}: {part} is not a section")
        node = child
    node[leaf] = value


def get_dotted(tree: dict[str, Any], key: str) -> Any:
    """``tree["a"]["b"]`` for key ``a.b``; an empty dict where a part is missing."""
    node: Any = tree
    for part in key.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `flatten`."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        set_dotted(tree, key, value)
    return tree


def dotted_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two nested dicts, sorted."""
    fa, fb = flatten(a), flatten(b)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["train.epochs=1", "data.val_max_images=50"]`` -> a nested dict; values are YAML."""
    tree: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
            raise UserError(f"--set {item!r}: expected SECTION.FIELD=VALUE, e.g. train.epochs=1")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            raise UserError(f"--set {item!r}: the value is not valid YAML") from None
        try:
            set_dotted(tree, key.strip(), value)
        except ValueError:
            raise UserError(f"--set {item!r} conflicts with another --set") from None
    return tree
