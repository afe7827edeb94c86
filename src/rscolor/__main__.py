"""Entry point for ``python -m rscolor`` (and ``torchrun -m rscolor``)."""

from rscolor.cli.main import main

if __name__ == "__main__":
    main()
