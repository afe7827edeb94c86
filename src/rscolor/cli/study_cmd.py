"""`rscolor study` (placeholder until its issue lands)."""

import typer

study_app = typer.Typer(no_args_is_help=True)


@study_app.command()
def serve() -> None:
    """Serve the rating web app (not implemented yet)."""
    from rscolor.errors import UserError

    raise UserError("rscolor study serve is not implemented yet")
