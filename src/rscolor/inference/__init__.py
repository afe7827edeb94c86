"""Inference: load a model and colorize images (tiling and GeoTIFF I/O live here too)."""

from rscolor.inference.colorizer import Colorizer, load_colorizer, shipped_model_path

__all__ = ["Colorizer", "load_colorizer", "shipped_model_path"]
