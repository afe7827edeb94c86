"""The ``rscolor`` command: a thin layer over the library.

User mistakes (a missing file, a bad option, an existing output) end with one line on
stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from rscolor.errors import UserError

app = typer.Typer(
    name="rscolor",
    help="Colorize grayscale remote-sensing images; train, evaluate and compare models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ScaleOption = Annotated[
    str,
    typer.Option(
        help="Working resolution relative to the input's pixels (0.25 = 4x coarser): chroma is "
        "predicted there, luminance stays full-res. 'auto': the input's pixel size over the "
        "model's training pixel size when the raster has a CRS in metres, else the model's "
        "training scene size over the picture's shorter side; at most 1 (docs/scale.md)."
    ),
]

SaturationOption = Annotated[
    float | None,
    typer.Option(
        help="Scale the predicted chroma around the training data's mean colour: below 1 "
        "is more muted, above 1 more vivid. Default: the model's own (its metadata), else 1."
    ),
]


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config (see configs/).")],
    data: Annotated[
        Path | None, typer.Option(help="Folder-per-class image tree (overrides data.root).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default: runs/<config name>).")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUT/last.pt.")] = False,
    split_manifest: Annotated[
        Path | None, typer.Option(help="Reuse this split.json instead of making one.")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    init_from: Annotated[
        str | None,
        typer.Option(
            help="Fine-tune: start from this checkpoint's weights, or 'shipped' for the "
            "bundled model (same architecture as the config)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a config field, e.g. --set train.epochs=1 (repeatable)."
        ),
    ] = None,
) -> None:
    """Train a model; writes checkpoints, history.csv/png and split.json to the run folder.
    Several GPUs or nodes: torchrun --nproc_per_node N -m rscolor train ... (same options)."""
    from rscolor.cli.train_cmd import run_train

    overrides = [*(set_ or []), *([f"train.init_from={init_from}"] if init_from else [])]
    run_train(config, data, out, resume, split_manifest, progress=not quiet, overrides=overrides)


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="Folder-per-class image tree.")],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Model (best.pt); default: the shipped model.")
    ] = None,
    split: Annotated[str, typer.Option(help="test, val, train, or all (every image).")] = "test",
    out: Annotated[Path | None, typer.Option(help="Write the results as JSON here.")] = None,
    limit: Annotated[
        int | None, typer.Option(help="Evaluate at most N images (evenly spaced).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    scale: ScaleOption = "auto",
    saturation: SaturationOption = None,
) -> None:
    """Score a model and the gray / mean_chroma references: acc2, acc5, PSNR, SSIM, CIEDE2000,
    colorfulness."""
    from rscolor.cli.evaluate_cmd import run_evaluate
    from rscolor.inference.scale import parse_scale

    run_evaluate(
        data, checkpoint, split, out, limit, force, device, parse_scale(scale), saturation
    )


@app.command()
def colorize(
    inputs: Annotated[list[Path], typer.Argument(help="Image files or folders (recursive).")],
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Output folder.")],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Model (best.pt); default: the shipped model.")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Overwrite existing outputs (never the inputs).")
    ] = False,
    skip_existing: Annotated[
        bool, typer.Option(help="Leave inputs whose output exists: resume a folder run.")
    ] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (torch backend).")] = "auto",
    backend: Annotated[
        str, typer.Option(help="torch, onnx (ONNX Runtime, CPU), or auto (onnx for .onnx files).")
    ] = "auto",
    scale: ScaleOption = "auto",
    tile: Annotated[
        int | None,
        typer.Option(help="Tile size in working pixels (default: 2x the training size)."),
    ] = None,
    overlap: Annotated[
        int | None, typer.Option(help="Overlap of neighbouring tiles (default: 3/8 tile).")
    ] = None,
    margin: Annotated[
        int | None,
        typer.Option(help="Tile edge left to the neighbour, in the overlap (default: 1/8 tile)."),
    ] = None,
    batch: Annotated[
        int | None, typer.Option(help="Tiles per model call (default: 2 tiles of 256 px).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (default: one per core).")
    ] = None,
    band: Annotated[int | None, typer.Option(help="Band of a multi-band raster (1-based).")] = None,
    stretch: Annotated[
        str,
        typer.Option(
            help="auto (percentile stretch unless 8-bit), percentile, or none (the type's "
            "full range; floats 0..1)."
        ),
    ] = "auto",
    percentiles: Annotated[str, typer.Option(help="LOW,HIGH percentiles of the stretch.")] = "2,98",
    value_range: Annotated[
        str | None, typer.Option(help="LOW,HIGH input values mapped to black and white.")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    saturation: SaturationOption = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="Raster outputs: cog (Cloud-Optimized GeoTIFF: tiles, overviews, mask) or "
            "gtiff (tiled GeoTIFF without overviews).",
        ),
    ] = "cog",
) -> None:
    """Colorize images. Colour inputs are first reduced to their luminance; outputs keep
    the input's luminance and relative path. Pictures give PNGs; rasters (GeoTIFF, 16-bit,
    float, --band) give RGB Cloud-Optimized GeoTIFFs with the input's CRS, transform and
    nodata (and a mask band for nodata)."""
    from rscolor.cli.colorize_cmd import parse_pair, run_colorize
    from rscolor.inference.scale import parse_scale
    from rscolor.inference.scene import RasterOptions, SceneOptions

    options = SceneOptions(
        scale=parse_scale(scale),
        tile=tile,
        overlap=overlap,
        margin=margin,
        batch=batch,
        progress=not quiet,
    )
    raster_options = RasterOptions(
        band=band,
        stretch=stretch,
        percentiles=parse_pair(percentiles, "--percentiles"),  # type: ignore[arg-type]
        value_range=parse_pair(value_range, "--value-range"),
        output_format=output_format,
    )
    run_colorize(
        inputs,
        out_dir,
        checkpoint,
        force,
        device,
        backend,
        options,
        raster_options,
        threads,
        saturation,
        skip_existing,
    )


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (model.onnx).")],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Model (best.pt); default: the shipped model.")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="onnx, or torch-fp16 (an inference-only .pt).")
    ] = "onnx",
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
    saturation: SaturationOption = None,
    max_chroma: Annotated[
        float | None,
        typer.Option(
            help="Cap the output's CIE Lab chroma at this value (hue kept), e.g. the "
            "training data's 99.9th percentile: tones down rare saturated blotches. Recorded "
            "in the exported model."
        ),
    ] = None,
) -> None:
    """Export a model for deployment: ONNX (dynamic tile size) or a small fp16 .pt."""
    from rscolor.cli.export_cmd import run_export

    run_export(out, checkpoint, format, force, saturation, max_chroma)


@app.command()
def benchmark(
    data: Annotated[Path, typer.Option(help="Folder-per-class image tree (e.g. AID).")],
    out: Annotated[Path, typer.Option(help="Suite folder: runs, tables and figures.")],
    suite: Annotated[str, typer.Option(help="compare, ablation or all.")] = "compare",
    scale: Annotated[str, typer.Option(help="cpu or paper (configs/*-<scale>.yaml).")] = "cpu",
    epochs: Annotated[
        int | None, typer.Option(help="Train every method N epochs (default: the configs').")
    ] = None,
    max_train_images: Annotated[
        int | None, typer.Option(help="Thin the train split evenly to N images (all methods).")
    ] = None,
    max_test_images: Annotated[
        int | None, typer.Option(help="Score N test images, evenly spaced (default: all).")
    ] = None,
    max_steps_per_epoch: Annotated[
        int | None, typer.Option(help="Cap the batches per epoch, for every method.")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu or cuda (default: the configs', auto).")
    ] = None,
    configs: Annotated[
        Path | None, typer.Option(help="Folder of method configs (default: the repo's configs/).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a config field of every method, e.g. --set data.val_max_images=50.",
        ),
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(
            help="Train every method N times (train.seed base..base+N-1); the tables give "
            "the mean and 95% interval over seeds. Rerun with a larger N to add seeds."
        ),
    ] = 1,
    jobs: Annotated[
        int, typer.Option(help="Train and evaluate N runs at once in worker processes (GPU).")
    ] = 1,
    report_only: Annotated[
        bool, typer.Option(help="Train nothing: table the runs that are finished.")
    ] = False,
) -> None:
    """Train every method of a suite on one split, evaluate all, write table.md/csv,
    runs.csv, comparisons.md/csv, per_class.md/csv, figure.png and curves.png. Resumable:
    finished runs are reused, a killed suite continues; the budget overrides apply to every
    method and are recorded in the table."""
    from rscolor.cli.benchmark_cmd import run_benchmark

    run_benchmark(
        data, out, suite, scale, epochs, max_train_images, max_test_images,
        max_steps_per_epoch, device, configs, progress=not quiet, overrides=set_,
        seeds=seeds, jobs=jobs, report_only=report_only,
    )  # fmt: skip


@app.command()
def info(
    model: Annotated[
        Path | None,
        typer.Argument(help="A model file (.pt or .onnx); default: the shipped model."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as JSON.")] = False,
) -> None:
    """What a model holds: method, size, training data, the pixel size (gsd) and scene size
    it was trained at, calibration, and the default tile size and overlap."""
    import json

    from rscolor.inference.model_info import format_info, read_model_info

    facts = read_model_info(model)
    print(json.dumps(facts.to_dict(), indent=2) if as_json else format_info(facts))


from rscolor.cli.study_cmd import study_app  # noqa: E402

app.add_typer(study_app, name="study", help="A human perception study (the paper's AMT protocol).")


def _click_kind(exc: BaseException) -> str | None:
    """'usage' / 'abort' for click's exceptions, from whichever click raised them.

    Matched by class name along the MRO, not by identity: typer 0.29+ raises from its
    bundled copy (``typer._click``), older typer from the separately installed click.
    """
    names = {(cls.__name__, cls.__module__.rsplit(".", 1)[-1]) for cls in type(exc).__mro__}
    if ("ClickException", "exceptions") in names:
        return "usage"
    if ("Abort", "exceptions") in names:
        return "abort"
    return None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every temporary file is removed on the way out."""


_SIGNALS: list[int] = []  # typer/click may turn the interrupt into an exit code: remember it


def _terminate(signum: int, frame: object) -> None:
    _SIGNALS.append(signum)
    raise Terminated


def _exit_interrupted() -> None:
    if _SIGNALS:
        typer.echo("rscolor: terminated", err=True)
        sys.exit(143)
    typer.echo("rscolor: interrupted", err=True)
    sys.exit(130)


def main(argv: list[str] | None = None) -> None:
    """The console script: one-line errors, exit 2 for user mistakes, no tracebacks."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)  # `kill` cleans up as Ctrl-C does
    try:
        code = app(args=argv, standalone_mode=False)
    except UserError as exc:
        typer.echo(f"rscolor: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        _exit_interrupted()
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        kind = _click_kind(exc)
        if kind == "usage":
            exc.show()  # type: ignore[attr-defined]  # usage text, then "Error: ..."
            sys.exit(getattr(exc, "exit_code", 2))
        if kind == "abort":  # click turns Ctrl-C (and so SIGTERM) into Abort
            _exit_interrupted()
        raise
    if _SIGNALS:
        _exit_interrupted()
    if isinstance(code, int) and code != 0:  # typer returns Exit codes (130 on Ctrl-C)
        if code == 130:
            typer.echo("rscolor: interrupted (a training run continues with --resume)", err=True)
        sys.exit(code)
