"""`rscolor benchmark`."""

from __future__ import annotations

from rscolor.cli.options import BenchmarkCommandOptions
from rscolor.suites import BenchmarkOptions, run_suite
from rscolor.utils.dotted import parse_overrides


def run_benchmark(opts: BenchmarkCommandOptions) -> None:
    result = run_suite(
        BenchmarkOptions(
            data=opts.data,
            out=opts.out,
            suite=opts.suite,
            scale=opts.scale,
            epochs=opts.epochs,
            max_train_images=opts.max_train_images,
            max_steps_per_epoch=opts.max_steps_per_epoch,
            max_test_images=opts.max_test_images,
            device=opts.device,
            configs_dir=opts.configs,
            progress=not opts.quiet,
            extra=parse_overrides(opts.set_) or None,
            seeds=opts.seeds,
            jobs=opts.jobs,
            report_only=opts.report_only,
        )
    )
    tabled = [r for rs in result.runs.values() for r in rs if r.record is not None]
    reused = [r.name for r in tabled if r.name not in result.trained]
    trained = ", ".join(result.trained) or "none"
    print(
        f"{len(result.runs)} methods, {len(tabled)} runs on {len(result.test_files)} test "
        f"images (trained now: {trained}; reused: {', '.join(reused) or 'none'})"
    )
    print((result.out / "table.md").read_text())
    for path in result.written:
        print(f"wrote {path}")
