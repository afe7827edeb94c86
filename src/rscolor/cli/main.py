"""The ``rscolor`` command: a thin layer over the library.

User mistakes (a missing file, a bad option, an existing output) end with one line on
stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rscolor.errors import UserError

app = typer.Typer(
    name="rscolor",
    help="Colorize grayscale remote-sensing images; train, evaluate and compare colorization models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
) -> None:
    """Train a model; writes checkpoints, history.csv/png and split.json to the run folder."""
    from rscolor.cli.train_cmd import run_train

    run_train(config, data, out, resume, split_manifest, progress=not quiet)


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="Folder-per-class image tree.")],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Model (best.pt); default: the shipped model.")
    ] = None,
    split: Annotated[str, typer.Option(help="test, val, train, or all (every image).")] = "test",
    out: Annotated[Path | None, typer.Option(help="Write the results as JSON here.")] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate at most N images (evenly spaced).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Score a model and the gray / mean_chroma references: acc2, acc5, PSNR, SSIM, CIEDE2000,
    colorfulness."""
    from rscolor.cli.evaluate_cmd import run_evaluate

    run_evaluate(data, checkpoint, split, out, limit, force, device)


@app.command()
def colorize(
    inputs: Annotated[list[Path], typer.Argument(help="Image files or folders (recursive).")],
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Output folder.")],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Model (best.pt); default: the shipped model.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing outputs.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Colorize images. Colour inputs are first reduced to their luminance; outputs keep
    the input's luminance and relative path, as PNG."""
    from rscolor.cli.colorize_cmd import run_colorize

    run_colorize(inputs, out_dir, checkpoint, force, device)


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (model.onnx).")],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Model (best.pt); default: the shipped model.")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="Export format: onnx.")] = "onnx",
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
) -> None:
    """Export a model for deployment (ONNX, dynamic tile size)."""
    from rscolor.cli.export_cmd import run_export

    run_export(out, checkpoint, format, force)


@app.command()
def benchmark(
    data: Annotated[Path, typer.Option(help="Folder-per-class image tree (e.g. AID).")],
    out: Annotated[Path, typer.Option(help="Suite folder: runs, tables and figures.")],
    suite: Annotated[str, typer.Option(help="compare, ablation or all.")] = "compare",
    scale: Annotated[str, typer.Option(help="cpu or paper.")] = "cpu",
) -> None:
    """Train every method of a suite on one split, evaluate all, write table.md/csv and a figure.
    Resumable: finished runs are reused, a killed suite continues."""
    from rscolor.cli.benchmark_cmd import run_benchmark

    run_benchmark(data, out, suite, scale)


from rscolor.cli.study_cmd import study_app  # noqa: E402

app.add_typer(study_app, name="study", help="A human perception study (the paper's AMT protocol).")


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=False)
    except UserError as exc:
        typer.echo(f"rscolor: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("rscolor: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise
