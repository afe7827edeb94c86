"""`rscolor evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

from rscolor.data.split import Split, make_split
from rscolor.errors import UserError
from rscolor.inference.colorizer import load_colorizer, shipped_model_path
from rscolor.metrics.evaluate import EvalResult, evaluate_images
from rscolor.metrics.image_metrics import METRIC_KEYS
from rscolor.training.trainer import evenly_spaced
from rscolor.utils.io import atomic_write_text


def split_for(checkpoint: Path, data: Path, ratios: tuple[int, int, int], seed: int) -> Split:
    """The manifest beside the checkpoint when it describes `data`, else the same
    deterministic split made afresh from `data`."""
    manifest = checkpoint.parent / "split.json"
    if manifest.is_file():
        split = Split.load(manifest)
        if split.train and all((data / f).is_file() for f in split.files("all")[:50]):
            return split
    return make_split(data, ratios, seed)


def format_table(rows: dict[str, dict[str, float]]) -> str:
    keys = (*METRIC_KEYS, "colorfulness_gap")
    widths = [max(11, len(k) + 2) for k in keys]
    head = f"{'':<12}" + "".join(f"{k:>{w}}" for k, w in zip(keys, widths, strict=True))
    lines = [head]
    for name, row in rows.items():
        cells = (f"{row.get(k, float('nan')):>{w}.4f}" for k, w in zip(keys, widths, strict=True))
        lines.append(f"{name:<12}" + "".join(cells))
    return "\n".join(lines)


def result_json(result: EvalResult, checkpoint: str, data: Path, split: str) -> str:
    body = {
        "checkpoint": checkpoint,
        "data": str(data),
        "split": split,
        "rows": result.rows,
        "per_class_ciede2000": {name: result.per_class(name) for name in result.rows},
        "per_image": result.per_image,
    }
    return json.dumps(body, indent=1)


def run_evaluate(
    data: Path,
    checkpoint: Path | None,
    split: str,
    out: Path | None,
    limit: int | None,
    force: bool,
    device: str,
) -> None:
    if out is not None and out.exists() and not force:
        raise UserError(f"{out} exists (use --force to overwrite)")
    colorizer = load_colorizer(checkpoint, device)
    ckpt_path = checkpoint or shipped_model_path()
    cfg = colorizer.cfg
    the_split = split_for(ckpt_path, data, cfg.data.split_ratios, cfg.data.split_seed)
    files = evenly_spaced(the_split.files(split), limit)
    if not files:
        raise UserError(f"no images in the {split} split of {data}")
    mean_ab = tuple(colorizer.meta.get("mean_ab", (0.0, 0.0)))
    result = evaluate_images(
        {"model": lambda rgb: colorizer.colorize_lum(colorizer.space.split(rgb)[0])},
        data,
        files,
        mean_ab=mean_ab,
        eval_size=cfg.data.eval_size,
    )
    print(f"{len(files)} images, {split} split of {data}")
    print(format_table(result.rows))
    if out is not None:
        atomic_write_text(out, result_json(result, str(ckpt_path), data, split))
        print(f"wrote {out}")
