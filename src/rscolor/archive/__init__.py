"""Colorize an archive: many scenes, one task each, in-process or on a Dask cluster, with a
resumable manifest, inputs from lists, STAC files and object storage, outputs to a folder
or an ``s3://`` prefix (docs/archive.md)."""
