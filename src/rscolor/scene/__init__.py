"""The scene pipeline (layer 4, below ``inference``): a gray image of any size through a
model in overlapping tiles at a working scale, in bounded memory.

``pipeline`` (the run, its options and report), ``tiling`` (the grid and the blend),
``resample`` (rows and columns between the input and the working scale), ``scale`` (the
working scale of ``--scale auto``), ``sources`` (what the pipeline reads from and writes
to), ``raster`` (GeoTIFF / GDAL I/O in windows), ``formats`` (the output formats: one table
from a name to its sink and finaliser) and ``output`` (one output file written atomically
in a format). The model is any :class:`rscolor.scene.pipeline.Predictor`; nothing here
imports ``inference``.
"""
