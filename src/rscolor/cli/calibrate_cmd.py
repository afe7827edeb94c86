"""`rscolor calibrate`: a model's saturation chosen on validation images by the shipped
model's rule (`inference/calibration.py`); `rscolor export` records the choice."""

from __future__ import annotations

import json

from rscolor.cli.options import CalibrateOptions
from rscolor.data.split import split_for
from rscolor.errors import UserError
from rscolor.inference.calibration import Calibration, Rule, Sweep, calibrate
from rscolor.inference.colorizer import load_colorizer, shipped_model_path
from rscolor.metrics.table import format_table
from rscolor.utils.io import atomic_write_text, check_output, resolved
from rscolor.utils.sampling import evenly_spaced

SPLITS = ("val", "train")


def numbers(option: str, text: str) -> tuple[float, ...]:
    """Comma-separated numbers ('' is none), or a one-line UserError naming `option`."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UserError(
            f"{option} {text!r}: expected comma-separated numbers, e.g. 1,1.2"
        ) from None


def sweep_and_rule(opts: CalibrateOptions) -> tuple[Sweep, Rule]:
    sweep = Sweep(
        gains=numbers("--gains", opts.gains),
        curve_strengths=numbers("--curve-strengths", opts.curve_strengths),
        max_chromas=numbers("--max-chromas", opts.max_chromas),
        temperatures=numbers("--temperatures", opts.temperatures),
        chroma_percentile=opts.chroma_percentile,
        cap_images=opts.cap_images,
        fit_limit=opts.fit_limit,
    )
    sweep.check()
    rule = Rule(opts.min_colorfulness, opts.max_false_color, opts.max_ciede_ratio)
    if rule.min_colorfulness < 0 or not 0 < opts.max_ciede_ratio:
        raise UserError("--min-colorfulness must be at least 0, --max-ciede-ratio above 0")
    if not 0 <= rule.max_false_color <= 100:
        raise UserError(f"--max-false-color {rule.max_false_color:g}: expected a percentage")
    return sweep, rule


def report(calibration: Calibration) -> None:
    """The rows, the choice and the export options that record it."""
    print(format_table(calibration.rows))
    rule, limit = calibration.rule, calibration.ciede_limit
    print(f"chosen ({rule.describe(limit)}): {calibration.chosen}")
    args = calibration.export_args()
    if args:
        print("record it: rscolor export --checkpoint MODEL --format torch-fp16 " + " ".join(args))
    elif calibration.chosen is None:
        print(f"no row has at most {rule.max_false_color:g}% false colour: nothing chosen")
    else:
        print("a chroma curve is no `rscolor export` option: Colorizer.calibrated sets it")


def run_calibrate(opts: CalibrateOptions) -> None:
    if opts.split not in SPLITS:
        raise UserError(
            f"--split {opts.split}: expected val or train (the test split is kept unseen)"
        )
    if opts.limit is not None and opts.limit < 1:
        raise UserError(f"--limit {opts.limit}: expected at least 1 image")
    if not opts.data.is_dir():
        raise UserError(f"--data {opts.data}: not a folder")
    sweep, rule = sweep_and_rule(opts)
    ckpt_path = opts.checkpoint or shipped_model_path()
    if opts.out is not None:
        check_output(opts.out, opts.force, resolved([ckpt_path]))
    colorizer = load_colorizer(ckpt_path, opts.device)
    colorizer = colorizer.calibrated(flip_average=opts.flip_average or None)
    data_cfg = colorizer.cfg.data
    split = split_for(ckpt_path, opts.data, data_cfg.split_ratios, data_cfg.split_seed)
    files = evenly_spaced(split.files(opts.split), opts.limit)
    if not files or not split.train:
        raise UserError(f"no images in the {opts.split} or train split of {opts.data}")
    result = calibrate(colorizer, opts.data, split, files, sweep, rule, not opts.quiet)
    result.extra = {"checkpoint": str(ckpt_path), "data": str(opts.data), "split": opts.split}
    if result.max_chroma is not None:
        print(f"max chroma: {result.max_chroma:.2f} ({sweep.chroma_percentile:g}th percentile)")
    print(f"{len(files)} images, {opts.split} split of {opts.data}")
    report(result)
    if opts.out is not None:
        atomic_write_text(opts.out, json.dumps(result.to_dict(), indent=1))
        print(f"wrote {opts.out}")
