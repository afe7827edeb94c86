"""What a model file holds, for ``rscolor info`` and for GIS tools: method, size, training
data, the ground sampling distance and scene size it was trained at, its calibration and
the tiling ``rscolor colorize`` uses with it by default.

Torch checkpoints carry this in their ``meta`` dict; exported ONNX files carry the same
(:func:`onnx_metadata`) as flat string key-values in ``metadata_props``, so a plugin can
read, say, ``rscolor.gsd_cm_per_px`` or ``rscolor.tile_size`` with any ONNX reader and no
JSON parsing. Unknown values (models from before issue 11 record no gsd_m or scene_px) are
left out of the key-values and shown as "unknown".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rscolor.errors import UserError
from rscolor.inference.colorizer import shipped_model_path
from rscolor.modelfile import (
    ModelMeta,
    check_model,
    check_onnx_info,
    checkpoint_config,
    generator_from_checkpoint,
    load_checkpoint,
)
from rscolor.scene.pipeline import SceneOptions, plan_grid

META_KEY = "rscolor"  # the ONNX metadata entry with the config and meta as JSON
ONNX_PREFIX = "rscolor."
TEXT_LIMIT = 300  # characters of one `info` line; model files may hold any amount


@dataclass
class ModelInfo:
    path: str
    format: str  # "torch" or "onnx"
    file_mib: float
    parameters: int
    method: str | None
    color_space: str | None
    data: str | None
    train_size: int
    size_multiple: int
    gsd_m: float | None
    gsd_note: str | None
    scene_px: int | None
    saturation: float
    max_chroma: float | None
    mean_ab: list[float] | None
    encoder: str  # the paper's U-Net streams, or which stream has which pretrained encoder
    tile_size: int
    tile_overlap: int
    tile_margin: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def gsd_cm_per_px(self) -> float | None:
        return None if self.gsd_m is None else round(100 * self.gsd_m, 6)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gsd_cm_per_px": self.gsd_cm_per_px}


def default_tiling(train_size: int, size_multiple: int) -> tuple[int, int, int]:
    """(tile, overlap, margin) that ``rscolor colorize`` uses with this model by default."""
    model = SimpleNamespace(train_size=train_size, size_multiple=size_multiple)
    probe = plan_grid(model, SceneOptions(), 1, 1)  # type: ignore[arg-type]
    return probe.tile, probe.overlap, probe.margin


def _optional_float(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def encoder_text(cfg: dict[str, Any], meta: ModelMeta) -> str:
    """The generator's encoder and where its initial weights came from."""
    g = cfg.get("generator") or {}
    name = g.get("encoder") or "none"
    if name == "none":
        return "none (the paper's U-Net streams)"
    origin = meta.encoder_init or "random initialisation"
    return f"{name} in the {g.get('encoder_stream', 'macro')} stream, started from {origin}"


def build_info(
    path: Path, fmt: str, parameters: int, cfg: dict[str, Any], meta: ModelMeta, m: int
) -> ModelInfo:
    """The facts of a model file whose config and meta were validated on load."""
    train_size = int(meta.train_size or cfg["data"]["crop_size"])
    tile, overlap, margin = default_tiling(train_size, m)
    return ModelInfo(
        path=str(path),
        format=fmt,
        file_mib=path.stat().st_size / 2**20,
        parameters=parameters,
        method=meta.method or cfg.get("method"),
        color_space=meta.color_space or cfg.get("color_space"),
        data=meta.data,
        train_size=train_size,
        size_multiple=m,
        gsd_m=_optional_float(meta.gsd_m),
        gsd_note=meta.gsd_note or cfg.get("gsd_note"),
        scene_px=_optional_int(meta.scene_px),
        saturation=1.0 if meta.saturation is None else float(meta.saturation),
        max_chroma=_optional_float(meta.max_chroma),
        mean_ab=None if meta.mean_ab is None else [float(v) for v in meta.mean_ab],
        encoder=encoder_text(cfg, meta),
        tile_size=tile,
        tile_overlap=overlap,
        tile_margin=margin,
        meta=meta.to_dict(),
    )


def _torch_info(path: Path) -> ModelInfo:
    ckpt = load_checkpoint(path)
    meta = check_model(ckpt, str(path))
    generator = generator_from_checkpoint(ckpt, str(path))
    parameters = sum(p.numel() for p in generator.parameters())
    m = int(getattr(generator, "size_multiple", 1))
    cfg = checkpoint_config(ckpt, str(path)).to_dict()
    return build_info(path, "torch", parameters, cfg, meta, m)


def read_onnx_metadata(path: Path) -> tuple[dict[str, str], int]:
    """(metadata_props as a dict, parameter count from the initializers) of an ONNX file."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - the onnx extra is installed in tests
        raise UserError("reading ONNX models needs onnx: pip install 'rscolor[onnx]'") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises its own types for a bad file
        raise UserError(f"cannot read ONNX model {path}: {exc.__class__.__name__}") from None
    props = {p.key: p.value for p in model.metadata_props}
    count = 0
    for init in model.graph.initializer:
        size = 1
        for dim in init.dims:
            size *= dim
        count += size
    return props, count


def _onnx_info(path: Path) -> ModelInfo:
    props, initializer_values = read_onnx_metadata(path)
    try:
        info = json.loads(props[META_KEY])
    except (KeyError, ValueError):
        raise UserError(f"{path}: not an rscolor ONNX model (no {META_KEY!r} metadata)") from None
    cfg, meta, multiple = check_onnx_info(info, str(path))
    recorded = props.get(ONNX_PREFIX + "parameters", "")
    parameters = int(recorded) if recorded.isdigit() else initializer_values
    return build_info(path, "onnx", parameters, cfg.to_dict(), meta, multiple)


def read_model_info(path: str | Path | None = None) -> ModelInfo:
    """What the model file at `path` (.pt or .onnx; None = the shipped model) holds."""
    path = Path(path) if path is not None else shipped_model_path()
    if not path.is_file():
        raise UserError(f"model not found: {path}")
    return _onnx_info(path) if path.suffix.lower() == ".onnx" else _torch_info(path)


def onnx_metadata(
    meta: ModelMeta, cfg: dict[str, Any], size_multiple: int, parameters: int
) -> dict[str, str]:
    """The flat key-values an exported ONNX file carries besides the full JSON: what a GIS
    plugin needs without parsing it (pixel size in cm per pixel, tile size and overlap)."""
    from rscolor import __version__

    train_size = int(meta.train_size or cfg.get("data", {}).get("crop_size") or 128)
    tile, overlap, margin = default_tiling(train_size, size_multiple)
    gsd = _optional_float(meta.gsd_m)
    values: dict[str, Any] = {
        "version": __version__,
        "method": meta.method or cfg.get("method"),
        "color_space": meta.color_space or cfg.get("color_space"),
        "data": meta.data,
        "parameters": parameters,
        "train_size": train_size,
        "size_multiple": size_multiple,
        "tile_size": tile,
        "tile_overlap": overlap,
        "tile_margin": margin,
        "gsd_m": gsd,
        "gsd_cm_per_px": None if gsd is None else round(100 * gsd, 6),
        "gsd_note": meta.gsd_note or cfg.get("gsd_note"),
        "scene_px": _optional_int(meta.scene_px),
        "saturation": 1.0 if meta.saturation is None else float(meta.saturation),
        "max_chroma": _optional_float(meta.max_chroma),
        "meta": json.dumps(meta.to_dict(), sort_keys=True),
    }
    return {ONNX_PREFIX + k: _flat(v) for k, v in values.items() if v is not None}


def _flat(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _gsd_text(info: ModelInfo) -> str:
    if info.gsd_m is None:
        return "unknown" + (f" ({info.gsd_note})" if info.gsd_note else "")
    return f"{info.gsd_m:g} m per pixel ({100 * info.gsd_m:g} cm/px)"


def _scene_text(info: ModelInfo) -> str:
    if info.scene_px is None:
        return "unknown"
    ground = f", {info.scene_px * info.gsd_m:g} m a side" if info.gsd_m else ""
    return f"{info.scene_px} px{ground}"


def format_info(info: ModelInfo) -> str:
    """The human-readable ``rscolor info`` report, one fact a line."""
    cap = "none" if info.max_chroma is None else f"{info.max_chroma:g}"
    rows = [
        ("model", f"{info.path} ({info.format}, {info.file_mib:.1f} MiB)"),
        ("method", f"{info.method or 'unknown'} ({info.color_space or '?'} colour space)"),
        ("parameters", f"{info.parameters:,}"),
        ("encoder", info.encoder),
        ("training data", info.data or "unknown"),
        ("training crops", f"{info.train_size} px"),
        ("gsd", _gsd_text(info)),
        ("scene size", _scene_text(info)),
        ("calibration", f"saturation {info.saturation:g}, max_chroma {cap}"),
        (
            "tiles",
            f"{info.tile_size} px, overlap {info.tile_overlap}, margin {info.tile_margin} "
            f"(colorize defaults; size multiple {info.size_multiple})",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {terminal_safe(v)}" for k, v in rows)


def terminal_safe(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` as it may reach a terminal: control and other unprintable characters
    escaped (a model file's strings must not clear the screen, retitle the window, plant
    links or overwrite a line with \\r) and cut after `limit` characters."""
    head = text[:limit]
    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in head)
    more = len(text) - len(head)
    return safe + (f"... ({more:,} more characters)" if more else "")
