"""Networks: one file per method or building block, found by name in `registry`."""

from rscolor.models.registry import DISCRIMINATORS, GENERATORS, build_discriminator, build_generator

__all__ = ["DISCRIMINATORS", "GENERATORS", "build_discriminator", "build_generator"]
