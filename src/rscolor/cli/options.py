"""Every option of the ``rscolor`` commands, declared once: one dataclass per command.

A field is the option (its type, its typer declaration with the help text, its default);
`command` turns the dataclass into the typer command, whose ``--help`` text is the
dataclass's docstring, and hands the parsed options to the command's ``run`` function in
``cli/<name>_cmd.py`` (imported only when the command runs, so ``--help`` stays quick).
Options several commands share are the ``Annotated`` aliases below.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from rscolor.scene.formats import DEFAULT_RASTER_FORMAT, format_help

# ---------------------------------------------------------------- shared
Checkpoint = Annotated[
    Path | None, typer.Option(help="Model (best.pt); default: the shipped model.")
]
Quiet = Annotated[bool, typer.Option(help="No progress bars.")]
ForceOut = Annotated[bool, typer.Option(help="Overwrite --out if it exists.")]
Scale = Annotated[
    str,
    typer.Option(
        help="Working resolution relative to the input's pixels (0.25 = 4x coarser): chroma is "
        "predicted there, luminance stays full-res. 'auto': the input's pixel size over the "
        "model's training pixel size when the raster has a CRS in metres, else the model's "
        "training scene size over the picture's shorter side; at most 1 (docs/scale.md)."
    ),
]
Saturation = Annotated[
    float | None,
    typer.Option(
        help="Scale the predicted chroma around the training data's mean colour: below 1 "
        "is more muted, above 1 more vivid. Default: the model's own (its metadata), else 1."
    ),
]


def command(options: type, run: str) -> Callable[..., None]:
    """A typer callback taking `options`' fields as its parameters; it calls
    ``module:function`` `run` with an `options` instance."""
    hints = get_type_hints(options, include_extras=True)
    params = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if f.default is MISSING else f.default,
            annotation=hints[f.name],
        )
        for f in fields(options)
    ]
    module, _, name = run.partition(":")

    def callback(**values: Any) -> None:
        getattr(importlib.import_module(module), name)(options(**values))

    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__annotations__ = {p.name: p.annotation for p in params}
    callback.__doc__ = options.__doc__
    callback.__name__ = callback.__qualname__ = name
    return callback


# ----------------------------------------------------------------- train
@dataclass
class TrainOptions:
    """Train a model; writes checkpoints, history.csv/png and split.json to the run folder.
    Several GPUs or nodes: torchrun --nproc_per_node N -m rscolor train ... (same options)."""

    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config (see configs/).")]
    data: Annotated[
        Path | None, typer.Option(help="Folder-per-class image tree (overrides data.root).")
    ] = None
    out: Annotated[Path | None, typer.Option(help="Run folder (default: runs/<config name>).")] = (
        None
    )
    resume: Annotated[bool, typer.Option(help="Continue from OUT/last.pt.")] = False
    force: Annotated[
        bool,
        typer.Option(
            help="Train afresh into a folder holding a finished run (its best.pt "
            "without last.pt): its files are replaced."
        ),
    ] = False
    split_manifest: Annotated[
        Path | None, typer.Option(help="Reuse this split.json instead of making one.")
    ] = None
    quiet: Quiet = False
    init_from: Annotated[
        str | None,
        typer.Option(
            help="Fine-tune: start from this checkpoint's weights, or 'shipped' for the "
            "bundled model (same architecture as the config)."
        ),
    ] = None
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a config field, e.g. --set train.epochs=1 (repeatable)."
        ),
    ] = None

    def overrides(self) -> list[str]:
        """--set and --init-from as config overrides."""
        init = [f"train.init_from={self.init_from}"] if self.init_from else []
        return [*(self.set_ or []), *init]


# -------------------------------------------------------------- evaluate
@dataclass
class EvaluateOptions:
    """Score a model and the gray / mean_chroma references: acc2, acc5, PSNR, SSIM, CIEDE2000,
    colorfulness."""

    data: Annotated[Path, typer.Option(help="Folder-per-class image tree.")]
    checkpoint: Checkpoint = None
    split: Annotated[str, typer.Option(help="test, val, train, or all (every image).")] = "test"
    out: Annotated[Path | None, typer.Option(help="Write the results as JSON here.")] = None
    limit: Annotated[
        int | None, typer.Option(help="Evaluate at most N images (evenly spaced).")
    ] = None
    force: ForceOut = False
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto"
    scale: Scale = "auto"
    saturation: Saturation = None


# -------------------------------------------------------------- colorize
@dataclass
class ColorizeOptions:
    """Colorize images. Colour inputs are first reduced to their luminance; outputs keep
    the input's luminance and relative path. Pictures give PNGs; rasters (GeoTIFF, 16-bit,
    float, --band) give RGB Cloud-Optimized GeoTIFFs with the input's CRS, transform and
    nodata (and a mask band for nodata)."""

    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Image files or folders (recursive); for an archive run also @FILE (a "
            "text file of inputs, one a line), STAC Items or ItemCollections (.json), s3:// "
            "URLs and GDAL paths (/vsis3/..., /vsicurl/...)."
        ),
    ]
    out_dir: Annotated[
        str, typer.Option("--out-dir", "-o", help="Output folder (or an s3:// prefix).")
    ]
    checkpoint: Checkpoint = None
    force: Annotated[bool, typer.Option(help="Overwrite existing outputs (never the inputs).")] = (
        False
    )
    skip_existing: Annotated[
        bool, typer.Option(help="Leave inputs whose output exists: resume a folder run.")
    ] = False
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (torch backend).")] = "auto"
    backend: Annotated[
        str, typer.Option(help="torch, onnx (ONNX Runtime, CPU), or auto (onnx for .onnx files).")
    ] = "auto"
    scale: Scale = "auto"
    tile: Annotated[
        int | None,
        typer.Option(help="Tile size in working pixels (default: 2x the training size)."),
    ] = None
    overlap: Annotated[
        int | None, typer.Option(help="Overlap of neighbouring tiles (default: 3/8 tile).")
    ] = None
    margin: Annotated[
        int | None,
        typer.Option(help="Tile edge left to the neighbour, in the overlap (default: 1/8 tile)."),
    ] = None
    batch: Annotated[
        int | None, typer.Option(help="Tiles per model call (default: 2 tiles of 256 px).")
    ] = None
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: one per core).")] = None
    band: Annotated[int | None, typer.Option(help="Band of a multi-band raster (1-based).")] = None
    stretch: Annotated[
        str,
        typer.Option(
            help="auto (percentile stretch unless 8-bit), percentile, or none (the type's "
            "full range; floats 0..1)."
        ),
    ] = "auto"
    percentiles: Annotated[str, typer.Option(help="LOW,HIGH percentiles of the stretch.")] = "2,98"
    value_range: Annotated[
        str | None, typer.Option(help="LOW,HIGH input values mapped to black and white.")
    ] = None
    quiet: Quiet = False
    saturation: Saturation = None
    output_format: Annotated[str, typer.Option("--format", help=format_help())] = (
        DEFAULT_RASTER_FORMAT
    )
    # An archive run (docs/archive.md): any of these, or remote / list / STAC inputs.
    workers: Annotated[
        int | None, typer.Option(help="Archive run on a local Dask cluster of N processes.")
    ] = None
    scheduler: Annotated[
        str | None, typer.Option(help="Archive run on an existing Dask cluster (tcp://HOST:PORT).")
    ] = None
    scheduler_file: Annotated[
        Path | None, typer.Option(help="Archive run on the Dask cluster of this scheduler file.")
    ] = None
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="The run's SQLite manifest (default OUT/rscolor-manifest.sqlite; needed for "
            "s3:// outputs). Given alone: an archive run in this process."
        ),
    ] = None
    retries: Annotated[int, typer.Option(help="Archive run: tries again per failed scene.")] = 0
    asset: Annotated[
        str | None, typer.Option(help="STAC inputs: the asset to colorize (e.g. pan).")
    ] = None
    stac: Annotated[
        bool, typer.Option(help="Archive run: a STAC Item (JSON) beside each output.")
    ] = False

    def is_archive_run(self) -> bool:
        """Whether the archive runner (manifest, Dask) runs this, not the plain loop."""
        from rscolor.archive.inputs import needs_archive_run

        flags = (self.workers, self.scheduler, self.scheduler_file, self.manifest, self.asset)
        given = any(f is not None for f in flags) or self.stac or self.retries != 0
        return given or needs_archive_run(self.inputs, self.out_dir)


# ---------------------------------------------------------------- export
@dataclass
class ExportOptions:
    """Export a model for deployment: ONNX (dynamic tile size) or a small fp16 .pt."""

    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (model.onnx).")]
    checkpoint: Checkpoint = None
    format: Annotated[
        str, typer.Option("--format", help="onnx, or torch-fp16 (an inference-only .pt).")
    ] = "onnx"
    force: ForceOut = False
    saturation: Saturation = None
    max_chroma: Annotated[
        float | None,
        typer.Option(
            help="Cap the output's CIE Lab chroma at this value (hue kept), e.g. the "
            "training data's 99.9th percentile: tones down rare saturated blotches. Recorded "
            "in the exported model."
        ),
    ] = None
    temperature: Annotated[
        float | None,
        typer.Option(
            help="For a model with a 'bins' head: the annealed-mean temperature in (0, 1] "
            "(lower = more vivid, 1 = the mean colour). Recorded in the exported model."
        ),
    ] = None


# ------------------------------------------------------------- calibrate
@dataclass
class CalibrateOptions:
    """Choose a model's saturation on validation images by the shipped model's rule
    (docs/model-card.md): score every --gains value (x --max-chromas caps, --curve-strengths,
    --temperatures) in one pass, each with the output chroma capped at the training pixels'
    --chroma-percentile; among rows with at most --max-false-color % false colour, take the
    lowest CIEDE2000 with colourfulness >= --min-colorfulness x the truth's, else the most
    colourful with CIEDE2000 <= --max-ciede-ratio x mean_chroma's, else the most colourful.
    Prints the table and the `rscolor export` options that record the choice. The test
    split is never looked at."""

    data: Annotated[Path, typer.Option(help="Folder-per-class image tree the model's split is of.")]
    checkpoint: Checkpoint = None
    split: Annotated[str, typer.Option(help="val (the default) or train; never test.")] = "val"
    limit: Annotated[int | None, typer.Option(help="Score at most N images (evenly spaced).")] = (
        None
    )
    gains: Annotated[str, typer.Option(help="Saturation gains to score, e.g. 1,1.2,1.4.")] = (
        "1,0.9,0.8,0.7,0.6"
    )
    max_chromas: Annotated[
        str, typer.Option(help="Also score these chroma caps (CIE Lab chroma), e.g. 32,28.")
    ] = ""
    curve_strengths: Annotated[
        str,
        typer.Option(
            help="Also score a quantile-matching chroma curve fitted on --fit-limit train "
            "images, at these strengths (0 = none, 1 = the fitted curve), e.g. 0,0.5,1."
        ),
    ] = "0"
    fit_limit: Annotated[int, typer.Option(help="Train images the curve is fitted on.")] = 300
    temperatures: Annotated[
        str, typer.Option(help="A 'bins' head: also sweep its temperature, e.g. 0.38,0.25.")
    ] = ""
    chroma_percentile: Annotated[
        float, typer.Option(help="Cap every row at this percentile of train chroma (0: none).")
    ] = 99.9
    cap_images: Annotated[int, typer.Option(help="Train images the cap is measured on.")] = 600
    min_colorfulness: Annotated[float, typer.Option(help="The rule's colour floor.")] = 0.75
    max_false_color: Annotated[float, typer.Option(help="The rule's false colour limit, %.")] = 0.01
    max_ciede_ratio: Annotated[
        float, typer.Option(help="The rule's CIEDE2000 limit, x mean_chroma's.")
    ] = 0.9
    flip_average: Annotated[bool, typer.Option(help="Score with test-time flip averaging.")] = False
    out: Annotated[Path | None, typer.Option(help="Write the rows and choice as JSON here.")] = None
    force: ForceOut = False
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto"
    quiet: Quiet = False


# ------------------------------------------------------------- benchmark
@dataclass
class BenchmarkCommandOptions:
    """Train every method of a suite on one split, evaluate all, write table.md/csv,
    runs.csv, comparisons.md/csv, per_class.md/csv, figure.png and curves.png. Resumable:
    finished runs are reused, a killed suite continues; the budget overrides apply to every
    method and are recorded in the table."""

    data: Annotated[Path, typer.Option(help="Folder-per-class image tree (e.g. AID).")]
    out: Annotated[Path, typer.Option(help="Suite folder: runs, tables and figures.")]
    suite: Annotated[str, typer.Option(help="compare, ablation or all.")] = "compare"
    scale: Annotated[str, typer.Option(help="cpu or paper (configs/<scale>/).")] = "cpu"
    epochs: Annotated[
        int | None, typer.Option(help="Train every method N epochs (default: the configs').")
    ] = None
    max_train_images: Annotated[
        int | None, typer.Option(help="Thin the train split evenly to N images (all methods).")
    ] = None
    max_test_images: Annotated[
        int | None, typer.Option(help="Score N test images, evenly spaced (default: all).")
    ] = None
    max_steps_per_epoch: Annotated[
        int | None, typer.Option(help="Cap the batches per epoch, for every method.")
    ] = None
    device: Annotated[
        str | None, typer.Option(help="auto, cpu or cuda (default: the configs', auto).")
    ] = None
    configs: Annotated[
        Path | None,
        typer.Option(
            help="Folder of method configs, DIR/<scale>/<method>.yaml (default: configs/)."
        ),
    ] = None
    quiet: Quiet = False
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a config field of every method, e.g. --set data.val_max_images=50.",
        ),
    ] = None
    seeds: Annotated[
        int,
        typer.Option(
            help="Train every method N times (train.seed base..base+N-1); the tables give "
            "the mean and 95% interval over seeds. Rerun with a larger N to add seeds."
        ),
    ] = 1
    jobs: Annotated[
        int, typer.Option(help="Train and evaluate N runs at once in worker processes (GPU).")
    ] = 1
    report_only: Annotated[
        bool, typer.Option(help="Train nothing: table the runs that are finished.")
    ] = False
