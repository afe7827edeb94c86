"""Reproduce the paper's Tables 1 to 4: every compared method and ablation row trained on
one split with one budget, evaluated on the same test images (``rscolor benchmark``)."""

from rscolor.suites.methods import ABLATION, COMPARE, SUITES, Method, Suite
from rscolor.suites.runner import BenchmarkOptions, BenchmarkResult, run_suite

__all__ = [
    "ABLATION",
    "COMPARE",
    "SUITES",
    "BenchmarkOptions",
    "BenchmarkResult",
    "Method",
    "Suite",
    "run_suite",
]
