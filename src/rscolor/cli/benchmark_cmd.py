"""`rscolor benchmark`."""

from __future__ import annotations

from pathlib import Path

from rscolor.benchmark import BenchmarkOptions, run_suite
from rscolor.config import parse_overrides


def run_benchmark(
    data: Path,
    out: Path,
    suite: str = "compare",
    scale: str = "cpu",
    epochs: int | None = None,
    max_train_images: int | None = None,
    max_test_images: int | None = None,
    max_steps_per_epoch: int | None = None,
    device: str | None = None,
    configs: Path | None = None,
    progress: bool = True,
    overrides: list[str] | None = None,
    seeds: int = 1,
    jobs: int = 1,
    report_only: bool = False,
) -> None:
    result = run_suite(
        BenchmarkOptions(
            data=data,
            out=out,
            suite=suite,
            scale=scale,
            epochs=epochs,
            max_train_images=max_train_images,
            max_steps_per_epoch=max_steps_per_epoch,
            max_test_images=max_test_images,
            device=device,
            configs_dir=configs,
            progress=progress,
            extra=parse_overrides(overrides) or None,
            seeds=seeds,
            jobs=jobs,
            report_only=report_only,
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
