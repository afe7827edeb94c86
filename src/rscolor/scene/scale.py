"""The working scale: ``--scale`` parsed, and the rule of ``--scale auto`` (docs/scale.md).

Default working scale (:func:`default_scale`): ``input pixel size / model gsd_m`` when the
model records its training ground sampling distance in metres and the input's CRS is in
metres; else ``model scene_px / the input's shorter side`` for a picture without
georeferencing; both clamped to [AUTO_MIN_SCALE, 1]. Older models: the metadata's
``scene_scale``, else 1.0 (the input's own pixels).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rscolor.errors import UserError
from rscolor.modelfile import ModelMeta

MAX_SCALE = 4.0
AUTO_MIN_SCALE = 0.125  # --scale auto never shrinks more than 8x


def default_scale(
    meta: Mapping[str, Any] | ModelMeta,
    pixel_size: float | None,
    shape: tuple[int, int] | None = None,
) -> tuple[float, str]:
    """The working scale of ``--scale auto``, and where it came from (docs/scale.md).

    1. A raster with a CRS in metres, and a model that records its training ground
       sampling distance (``gsd_m``): input pixel size / gsd_m, so the model sees the
       pixel size it was trained at.
    2. A picture without one, and a model that records its training scene size
       (``scene_px``): scene_px / the picture's shorter side, so the picture is seen
       with the field of view of a training scene.
    3. Older models: the metadata's ``scene_scale``, else 1.

    Rules 1 and 2 never enlarge (at most 1: finer detail cannot be made up) and never
    shrink below AUTO_MIN_SCALE (a large scan of unknown pixel size is not a scene).
    """
    typed = meta if isinstance(meta, ModelMeta) else ModelMeta.from_dict(meta)
    gsd = typed.gsd_m
    if gsd and pixel_size:
        ratio = pixel_size / float(gsd)
        why = f"input pixel {pixel_size:g} m / model gsd_m {float(gsd):g} m"
        return _clamp_auto(ratio), why
    scene = typed.scene_px
    if scene and shape:
        side = min(shape)
        why = f"model scene {int(scene)} px / input {side} px (no ground pixel size)"
        return _clamp_auto(int(scene) / side), why
    if typed.scene_scale:
        return float(typed.scene_scale), "model metadata (scene_scale)"
    return 1.0, "the default: the model records no training scale"


def ground_pixel_size(crs: Any, transform: Any) -> float | None:
    """Metres per pixel along a row: the length of the transform's column step (rotation-
    aware: a 2 m pixel rotated 30 degrees is 2 m, not its cosine) in the CRS's linear unit
    as GDAL converts it to metres (whatever it names it: metre, meters, US survey foot).
    None without a projected CRS."""
    if crs is None or not crs.is_projected:
        return None
    try:
        _unit, factor = crs.linear_units_factor
    except Exception:  # rasterio's CRSError: a unit GDAL cannot convert
        return None
    size = math.hypot(transform.a, transform.d) * float(factor)
    return size if math.isfinite(size) and size > 0 else None


def _clamp_auto(scale: float) -> float:
    return float(min(1.0, max(AUTO_MIN_SCALE, scale)))


def parse_scale(text: str | float | None) -> float | None:
    """``--scale``: 'auto' (None: chosen per input by :func:`default_scale`) or a factor."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "auto"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--scale {text!r}: expected 'auto' or a factor, e.g. 0.5") from None
    if not 0 < value <= MAX_SCALE:
        raise UserError(f"--scale {value:g}: expected 'auto' or a factor in (0, {MAX_SCALE:g}]")
    return value


def resolve_scale(
    option: float | None,
    meta: Mapping[str, Any] | ModelMeta,
    pixel_size: float | None,
    shape: tuple[int, int] | None = None,
) -> tuple[float, str]:
    if option is not None:
        scale, why = option, "--scale"
    else:
        scale, why = default_scale(meta, pixel_size, shape)
    if not 0 < scale <= MAX_SCALE:
        raise UserError(f"--scale must be in (0, {MAX_SCALE:g}], got {scale:g}")
    return scale, why
