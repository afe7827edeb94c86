"""`rscolor evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

from rscolor.cli.options import EvaluateOptions
from rscolor.config import DataConfig
from rscolor.data.split import relative_images, split_for
from rscolor.errors import UserError
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.colorizer import load_colorizer, shipped_model_path
from rscolor.metrics.evaluate import EvalResult, evaluate_images
from rscolor.metrics.table import format_table
from rscolor.scene.scale import parse_scale
from rscolor.utils.io import atomic_write_text, check_output, resolved
from rscolor.utils.sampling import evenly_spaced


def files_for(split: str, checkpoint: Path, data: Path, cfg_data: DataConfig) -> list[str]:
    """The images a --split names: ``all`` is every image under `data` (whatever a
    manifest beside the checkpoint lists), the others come from the run's split."""
    if split == "all":
        return relative_images(data)
    return split_for(checkpoint, data, cfg_data.split_ratios, cfg_data.split_seed).files(split)


def result_json(
    result: EvalResult,
    checkpoint: str,
    data: Path,
    split: str,
    scale: float | str = 1.0,
    saturation: float = 1.0,
) -> str:
    body = {
        "checkpoint": checkpoint,
        "data": str(data),
        "split": split,
        "scale": scale,
        "saturation": saturation,
        "rows": result.rows,
        "per_class_ciede2000": {name: result.per_class(name) for name in result.rows},
        "per_image": result.per_image,
    }
    return json.dumps(body, indent=1)


def run_evaluate(opts: EvaluateOptions) -> None:
    scale = parse_scale(opts.scale)
    data, checkpoint, split, out = opts.data, opts.checkpoint, opts.split, opts.out
    limit, force, device, saturation = opts.limit, opts.force, opts.device, opts.saturation
    if limit is not None and limit < 1:
        raise UserError(f"--limit {limit}: expected at least 1 image")
    ckpt_path = checkpoint or shipped_model_path()
    if out is not None:
        check_output(out, force, resolved([ckpt_path]))
    colorizer = load_colorizer(checkpoint, device).calibrated(saturation=saturation)
    cfg = colorizer.cfg
    files = evenly_spaced(files_for(split, ckpt_path, data, cfg.data), limit)
    if not files:
        raise UserError(f"no images in the {split} split of {data}")
    mean_ab = colorizer.meta.mean_ab or (0.0, 0.0)
    result = evaluate_images(
        {"model": rgb_colorizer(colorizer, scale)},
        data,
        files,
        mean_ab=mean_ab,
        eval_size=cfg.data.eval_size,
    )
    at = ", scale auto" if scale is None else ""
    at = f", model run at scale {scale:g}" if scale not in (None, 1.0) else at
    at += f", saturation {colorizer.saturation:g}" if colorizer.saturation != 1.0 else ""
    print(f"{len(files)} images, {split} split of {data}{at}")
    print(format_table(result.rows))
    if out is not None:
        shown = "auto" if scale is None else scale
        body = result_json(result, str(ckpt_path), data, split, shown, colorizer.saturation)
        atomic_write_text(out, body)
        print(f"wrote {out}")
