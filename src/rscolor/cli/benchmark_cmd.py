"""`rscolor benchmark` (placeholder until its issue lands)."""

from rscolor.errors import UserError


def run_benchmark(*args, **kwargs) -> None:
    raise UserError("rscolor benchmark is not implemented yet")
