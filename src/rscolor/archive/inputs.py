"""An archive run's scenes from what the user gave: files, folders, text files listing
inputs (``@scenes.txt``), STAC Items or ItemCollections (``--asset KEY``), GDAL virtual
paths and URLs.

Each scene has a source (the manifest's key) and an output name relative to the output
folder or prefix. A scene that cannot run (an item without the asset, two inputs that
would write one output) keeps a one-line `problem` instead of stopping the run.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rscolor.archive.locations import basename, is_remote
from rscolor.data.images import find_images, is_image_path
from rscolor.errors import UserError
from rscolor.inference.batch import output_suffix
from rscolor.scene import raster
from rscolor.scene.formats import output_format

LIST_PREFIX = "@"  # @FILE: a text file of inputs, one a line
STAC_SUFFIXES = (".json", ".geojson")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Remote and STAC inputs are rasters: named with the raster formats' suffix (all GeoTIFF)
RASTER_SUFFIX = output_format(scene=True).suffix


@dataclass(frozen=True)
class Scene:
    source: str  # a local path, a GDAL virtual path or a URL: the manifest's key
    name: str  # the output, relative to the output folder or prefix
    problem: str | None = None  # why it cannot run, one line
    item_id: str | None = None  # the STAC Item it came from
    datetime: str | None = None  # that Item's datetime


def needs_archive_run(inputs: list[str], out: str) -> bool:
    """Whether only an archive run can take these: lists, STAC files, remote data."""
    special = (i.startswith(LIST_PREFIX) or i.lower().endswith(STAC_SUFFIXES) for i in inputs)
    return is_remote(out) or any(special) or any(is_remote(i) for i in inputs)


def collect_scenes(
    inputs: list[str], out: str, asset: str | None = None, band: int | None = None
) -> list[Scene]:
    """Every scene of `inputs`, in order, each source once; inputs that would write one
    output name all get a problem (none of them is written)."""
    scenes: list[Scene] = []
    for item in inputs:
        scenes += _expand(item, out, asset, band, top=True)
    unique = list({s.source: s for s in reversed(scenes)}.values())[::-1]
    return _mark_collisions(unique)


def _mark_collisions(scenes: list[Scene]) -> list[Scene]:
    by_name: dict[str, list[str]] = defaultdict(list)
    for s in scenes:
        by_name[s.name].append(s.source)
    out = []
    for s in scenes:
        others = by_name[s.name]
        if len(others) > 1 and s.problem is None:
            listed = " and ".join(others[:3]) + (" ..." if len(others) > 3 else "")
            s = replace(s, problem=f"{listed} would write one output {s.name}: rename one")
        out.append(s)
    return out


def _expand(item: str, out: str, asset: str | None, band: int | None, top: bool) -> list[Scene]:
    if item.startswith(LIST_PREFIX):
        listing = Path(item[len(LIST_PREFIX) :])
        if not listing.is_file():
            raise UserError(f"list of inputs not found: {listing}")
        return [s for line in _list_lines(listing) for s in _expand(line, out, asset, band, False)]
    if is_remote(item):
        if item.lower().endswith(STAC_SUFFIXES):
            raise UserError(f"STAC files are read from local paths, got {item}")
        return [Scene(item, Path(basename(item)).stem + RASTER_SUFFIX)]
    path = Path(item)
    if path.is_dir():
        return _folder(path, out, band)
    if not path.is_file():
        if top:
            raise UserError(f"input not found: {item}")
        return [Scene(item, Path(item).stem + RASTER_SUFFIX, f"input not found: {item}")]
    suffix = path.suffix.lower()
    if suffix in STAC_SUFFIXES:
        return stac_scenes(path, asset)
    if not (is_image_path(path) or suffix in raster.RASTER_SUFFIXES):
        raise UserError(f"not an image file (jpg, png, tif, or a GDAL raster): {item}")
    return [Scene(os.path.abspath(item), output_name(path, Path(path.name), band))]


def _list_lines(path: Path) -> list[str]:
    """A text file's inputs, one a line (# comments and blank lines skipped); relative
    local paths are relative to the list's folder."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    entries = [ln for ln in lines if ln and not ln.startswith("#")]
    return [e if is_remote(e) or Path(e).is_absolute() else str(path.parent / e) for e in entries]


def output_name(src: Path, relative: Path, band: int | None) -> str:
    """A raster gives a GeoTIFF, a picture a PNG (as `rscolor colorize` does); an
    unreadable file is named by its suffix and fails when its turn comes."""
    return relative.with_suffix(output_suffix(src, band)).as_posix()


def _folder(folder: Path, out: str, band: int | None) -> list[Scene]:
    if not is_remote(out) and folder.resolve() == Path(out).resolve():
        raise UserError(
            f"the output folder {out} is the input folder: outputs would replace or mix "
            "with the inputs (choose another --out-dir)"
        )
    out_dir = None if is_remote(out) else Path(out).resolve()
    found = [
        p for p in find_images(folder) if out_dir is None or out_dir not in p.resolve().parents
    ]
    return [Scene(os.path.abspath(p), output_name(p, p.relative_to(folder), band)) for p in found]


# ------------------------------------------------------------------------- STAC
def stac_scenes(path: Path, asset: str | None) -> list[Scene]:
    """The scenes of a STAC Item or ItemCollection (a FeatureCollection of Items)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read STAC file {path}: {exc}") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "Feature":
        items = [doc]
    elif kind == "FeatureCollection":
        items = doc.get("features") or []
    else:
        raise UserError(f"{path} is not a STAC Item or ItemCollection (type {kind!r})")
    return [_item_scene(item, path, asset) for item in items]


def _item_scene(item: dict[str, Any], stac_file: Path, asset: str | None) -> Scene:
    item_id = str(item.get("id") or "item")
    name = _UNSAFE.sub("_", item_id) + RASTER_SUFFIX
    when = (item.get("properties") or {}).get("datetime")
    assets = item.get("assets") or {}
    key, problem = _pick_asset(assets, asset)
    if problem:
        return Scene(f"{stac_file}#{item_id}", name, f"STAC item {item_id} {problem}", item_id)
    href = str(assets[key]["href"])
    if not is_remote(href):
        href = os.path.abspath(stac_file.parent / href)
    return Scene(href, name, None, item_id, when)


def _pick_asset(assets: dict[str, Any], asset: str | None) -> tuple[str, str | None]:
    """(asset key, problem): the asked asset, else the only one, else the only 'data' one."""
    if asset is not None:
        if asset in assets and assets[asset].get("href"):
            return asset, None
        return asset, f"has no asset {asset!r} (assets: {', '.join(assets) or 'none'})"
    data = [k for k, a in assets.items() if "data" in (a.get("roles") or [])]
    candidates = list(assets) if len(assets) == 1 else data
    if len(candidates) == 1:
        return candidates[0], None
    return "", f"has {len(assets)} assets: choose one with --asset ({', '.join(assets)})"
