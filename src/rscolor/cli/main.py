"""The ``rscolor`` command: a thin layer over the library.

Each command's options are declared once, in `cli/options.py`; its work is done in
`cli/<command>_cmd.py`. User mistakes (a missing file, a bad option, an existing output)
end with one line on stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from rscolor.cli.options import (
    BenchmarkCommandOptions,
    CalibrateOptions,
    ColorizeOptions,
    EvaluateOptions,
    ExportOptions,
    TrainOptions,
    command,
)
from rscolor.errors import UserError

app = typer.Typer(
    name="rscolor",
    help="Colorize grayscale remote-sensing images; train, evaluate and compare models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("train")(command(TrainOptions, "rscolor.cli.train_cmd:run_train"))
app.command("evaluate")(command(EvaluateOptions, "rscolor.cli.evaluate_cmd:run_evaluate"))
app.command("colorize")(command(ColorizeOptions, "rscolor.cli.colorize_cmd:run_colorize"))
app.command("export")(command(ExportOptions, "rscolor.cli.export_cmd:run_export"))
app.command("calibrate")(command(CalibrateOptions, "rscolor.cli.calibrate_cmd:run_calibrate"))
app.command("benchmark")(
    command(BenchmarkCommandOptions, "rscolor.cli.benchmark_cmd:run_benchmark")
)


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
            typer.echo("rscolor: interrupted" + _interrupt_hint(argv), err=True)
        sys.exit(code)


def _interrupt_hint(argv: list[str] | None) -> str:
    """What continues an interrupted command: only training has a --resume."""
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), "")
    return " (the training run continues with --resume)" if command == "train" else ""
