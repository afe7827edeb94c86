"""Scoring a suite: every finished run and the two references on the same test images,
each evaluation cached beside its key (files, checkpoint, eval size, metrics)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rscolor.errors import UserError
from rscolor.inference.colorizer import Colorizer, load_colorizer
from rscolor.metrics.evaluate import EvalResult, evaluate_images
from rscolor.metrics.image_metrics import image_metrics
from rscolor.suites.folder import checkpoint_stamp, files_digest, read_json
from rscolor.suites.parallel import parallel_map
from rscolor.suites.records import BenchmarkOptions, Runs, SuiteEvaluation, SuiteRun, finished_runs
from rscolor.utils.io import atomic_write_text


def colorize_fn(colorizer: Colorizer) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rgb: colorizer.colorize_rgb(rgb)


def cached_eval(
    cache: Path,
    key: dict[str, Any],
    compute: Callable[[], EvalResult],
) -> EvalResult:
    """An EvalResult stored beside its key; recomputed when the key changes."""
    old = read_json(cache)
    if old is not None and old.get("key") == key:
        return EvalResult(old["rows"], old["per_image"])
    result = compute()
    body = {"key": key, "rows": result.rows, "per_image": result.per_image}
    atomic_write_text(cache, json.dumps(body))
    return result


def metric_names() -> list[str]:
    """The per-image metrics scored now: part of every evaluation's cache key, so a stored
    evaluation without a metric added since (false_color, say) is recomputed."""
    dummy = np.full((8, 8, 3), 0.5, dtype=np.float32)
    return sorted(image_metrics(dummy, dummy))


def run_eval_key(run: SuiteRun, files: list[str]) -> dict[str, Any]:
    return {
        "files": files_digest(files),
        "checkpoint": checkpoint_stamp(run.run_dir / "best.pt"),
        "eval_size": run.cfg.data.eval_size,
        "metrics": metric_names(),
    }


def stored_eval(run: SuiteRun, files: list[str]) -> EvalResult | None:
    """The run's eval.json if it is for these files and this checkpoint, else None."""
    if not (run.run_dir / "best.pt").is_file():
        return EvalResult({run.method.key: {}}, [])
    old = read_json(run.run_dir / "eval.json")
    if old is not None and old.get("key") == run_eval_key(run, files):
        return EvalResult(old["rows"], old["per_image"])
    return None


def evaluate_run(run: SuiteRun, opts: BenchmarkOptions, files: list[str]) -> EvalResult:
    best = run.run_dir / "best.pt"
    if not best.is_file():
        return EvalResult({run.method.key: {}}, [])
    key = run_eval_key(run, files)

    def compute() -> EvalResult:
        colorizer = load_colorizer(best, opts.device or "auto")
        return evaluate_images(
            {run.method.key: colorize_fn(colorizer)},
            opts.data,
            files,
            eval_size=run.cfg.data.eval_size,
            references=False,
            progress=opts.progress,
            desc=f"evaluate {run.method.key}",
        )

    return cached_eval(run.run_dir / "eval.json", key, compute)


def suite_mean_ab(runs: list[SuiteRun]) -> tuple[float, float]:
    """The training split's mean (a, b), as the runs measured it (all share the split)."""
    for run in runs:
        if run.record is not None and run.record.mean_ab:
            return float(run.record.mean_ab[0]), float(run.record.mean_ab[1])
    raise UserError("no finished run to take the training split's mean chroma from")


def evaluate_all(
    runs: Runs, opts: BenchmarkOptions, files: list[str], eval_size: int | None
) -> SuiteEvaluation:
    """Every finished run and the two references on the same files."""
    done = [run for key in runs for run in finished_runs(runs[key])]
    stored = [stored_eval(run, files) for run in done]
    todo = [run for run, result in zip(done, stored, strict=True) if result is None]
    fresh = iter(parallel_map(evaluate_run, [(run, opts, files) for run in todo], opts.jobs))
    by_method: dict[str, dict[int, EvalResult]] = {}
    for run, result in zip(done, stored, strict=True):
        by_method.setdefault(run.method.key, {})[run.seed] = result or next(fresh)
    mean_ab = suite_mean_ab(done)
    ref_key = {
        "files": files_digest(files),
        "mean_ab": list(mean_ab),
        "eval_size": eval_size,
        "metrics": metric_names(),
    }
    references = cached_eval(
        opts.out / "eval-references.json",
        ref_key,
        lambda: evaluate_images(
            {},
            opts.data,
            files,
            mean_ab=mean_ab,
            eval_size=eval_size,
            progress=opts.progress,
            desc="evaluate references",
        ),
    )
    return SuiteEvaluation(files, by_method, references)
