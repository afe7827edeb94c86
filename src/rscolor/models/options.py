"""What every network's options share. Each architecture declares its own options class
next to its network (a subclass of `GeneratorOptions` or `DiscriminatorOptions` whose
``name`` is a ``Literal`` of its registry names); `models/registry.py` picks the class by
``name`` when a config is read, so a config's ``generator:`` section holds exactly the
options of the generator it names."""

from __future__ import annotations

from rscolor.config import Strict


class NetworkOptions(Strict):
    """A network's options, read from a config section (unknown fields are errors)."""

    name: str | None

    def norm_layer(self) -> str:
        """The norm layer the network uses ('none' when it has no ``norm`` option): the
        trainer refuses 'syncbatch' on CPU processes and notes 'batch' across them."""
        return str(getattr(self, "norm", "none"))


class GeneratorOptions(NetworkOptions):
    """A generator's options. Subclasses narrow ``name`` to their ``Literal``."""

    name: str

    def too_small(self, crop_size: int) -> str | None:
        """Why a training crop of `crop_size` px is too small for this network, or None."""
        return None


class DiscriminatorOptions(NetworkOptions):
    """A discriminator's options (``name: null``: `NoDiscriminatorOptions`)."""


class NoDiscriminatorOptions(DiscriminatorOptions):
    """``discriminator: {name: null}``: no discriminator (plain regression)."""

    name: None = None
