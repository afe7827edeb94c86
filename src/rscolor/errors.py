"""User-facing errors: the CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """A mistake in the user's input (path, file, option), not a bug."""
