"""`rscolor colorize` as an archive run (`--workers`, `--scheduler`, `--manifest`, remote,
list or STAC inputs): the options as the archive runner's, then its summary."""

from __future__ import annotations

from rscolor.archive.engines import ClusterOptions, local_threads
from rscolor.archive.runner import colorize_archive, manifest_path
from rscolor.archive.task import ModelSpec, TaskSettings
from rscolor.cli.options import ColorizeOptions
from rscolor.errors import UserError
from rscolor.scene.output import RasterOptions
from rscolor.scene.pipeline import SceneOptions


def run_archive(opts: ColorizeOptions, options: SceneOptions, raster: RasterOptions) -> None:
    if opts.skip_existing:
        raise UserError(
            "--skip-existing is for plain runs: an archive run resumes from its manifest"
        )
    if opts.threads is not None and opts.threads < 1:
        raise UserError("--threads must be at least 1")
    threads = opts.threads
    if threads is None and opts.workers:
        threads = local_threads(opts.workers)
    model = ModelSpec(
        None if opts.checkpoint is None else str(opts.checkpoint.resolve()),
        opts.backend,
        opts.device,
        threads,
        opts.saturation,
    )
    options.progress = False  # one bar over scenes, not one per scene
    settings = TaskSettings(model, opts.out_dir, opts.force, opts.stac, options, raster)
    cluster = ClusterOptions(opts.workers, opts.scheduler, opts.scheduler_file)
    summary = colorize_archive(
        opts.inputs,
        opts.out_dir,
        settings,
        cluster,
        retries=opts.retries,
        manifest=opts.manifest,
        asset=opts.asset,
        progress=not opts.quiet,
    )
    print(summary.line())
    if summary.failed:
        record = manifest_path(opts.out_dir, opts.manifest)
        raise UserError(
            f"{summary.failed} of {summary.done + summary.failed + summary.skipped} scene(s) "
            f"failed (listed above; reasons in {record}): fix them and rerun the same command"
        )
