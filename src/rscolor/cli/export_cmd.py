"""`rscolor export` (placeholder until its issue lands)."""

from rscolor.errors import UserError


def run_export(*args, **kwargs) -> None:
    raise UserError("rscolor export is not implemented yet")
