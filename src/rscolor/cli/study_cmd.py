"""`rscolor study serve|report`: run the paper's human rating study (AMT, Sec. 4.3)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from rscolor.errors import UserError

study_app = typer.Typer(no_args_is_help=True)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


@study_app.command()
def serve(
    more_runs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="DIR", help="More run folders (after --runs or alone).", show_default=False
        ),
    ] = None,
    runs: Annotated[
        list[str] | None,
        typer.Option(
            "--runs",
            help="Run folder of colorized images; NAME=DIR names the method. "
            "`--runs A B C` and `--runs A --runs B` both work. Needed only to create "
            "the study.",
            show_default=False,
        ),
    ] = None,
    images: Annotated[int, typer.Option(help="Images per method each rater scores.")] = 20,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8000,
    db: Annotated[Path, typer.Option(help="SQLite file holding the study and its ratings.")] = Path(
        "study.sqlite"
    ),
    gray: Annotated[
        Path | None,
        typer.Option(
            help="Gray inputs at the same relative paths (default: the lightness of "
            "each colorization).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the image choice.")] = 0,
    behind_proxy: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-* from one reverse proxy (HTTPS, online).")
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Another name raters reach the server by (the Host header is checked "
            "against the bound address; behind a proxy, give its public name). Repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the rating pages. Creates the study in --db on first use; run it again (with or
    without --runs) to continue after a stop: nothing is lost."""
    try:
        from rscolor.study.app import create_app
        from rscolor.study.server import make_study_server
    except ModuleNotFoundError as exc:
        if exc.name not in ("flask", "waitress"):
            raise
        missing = exc.name
        raise UserError(f"the study server needs {missing}: pip install 'rscolor[study]'") from None
    from rscolor.study.plan import StudyOptions, open_study

    if not 0 <= port <= 65535:
        raise UserError("--port must be from 0 to 65535")
    specs = tuple(runs or []) + tuple(more_runs or [])
    print(open_study(db, StudyOptions(specs, images, seed, gray)))
    app = create_app(db, behind_proxy)
    server = make_study_server(app, host, port, extra_hosts=tuple(allowed_host or ()))
    if host not in LOCAL_HOSTS:
        print(f"warning: listening on {host}: anyone who can reach this machine can rate")
    print(
        f"open http://{host}:{server.server_port}/ (Ctrl+C stops; ratings are kept in {db}; "
        f"waitress, {server.backlog} pending connections)",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops as cleanly as Ctrl+C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"stopped; ratings are in {db}")
    finally:
        server.server_close()


@study_app.command()
def report(
    db: Annotated[Path, typer.Option(help="The study's SQLite file.")] = Path("study.sqlite"),
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for amt.csv and amt.md (default: <db name>-report beside it).",
            show_default=False,
        ),
    ] = None,
    complete_only: Annotated[
        bool, typer.Option(help="Count only raters who rated every image.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report.")] = False,
) -> None:
    """AMT score per method (mean over raters of each rater's mean score), 95% CI, raters and
    ratings; written as CSV and Markdown."""
    from rscolor.study.report import write_report

    out = out if out is not None else db.with_name(f"{db.stem}-report")
    paths, markdown = write_report(db, out, force=force, complete_only=complete_only)
    print(markdown)
    print("wrote " + ", ".join(str(p) for p in paths))
