"""Train every method of a suite on one split with one budget, evaluate all on the same
test images, and write the tables and the figure.

An output folder OUT holds::

    suite.json          data, scale and budget overrides (a rerun must match them)
    split.json          the one train / test / val manifest every run is given
    runs/<method>/seed-<s>/  a training run folder (train.seed = s), plus done.json once
                        finished and eval.json (every test image's metrics)
    eval-references.json  the gray / mean_chroma rows on the same test images
    table.md, table.csv   mean and 95% interval over seeds of every metric
    runs.csv              every run's own metrics (one row per method and seed)
    comparisons.md/csv    paired differences and the verdict per step of the paper's tables
    per_class.md, per_class.csv, figure.png, curves.png

With ``seeds`` N every method is trained N times (seeds base .. base+N-1, base the config's
train.seed), seed by seed, on the same split. Rerunning the same command reuses finished
runs (best.pt + done.json), resumes unfinished ones from their last.pt, and reuses
evaluations of unchanged checkpoints; a rerun with more seeds adds the missing ones.
"""

from __future__ import annotations

import json

from rscolor.errors import UserError
from rscolor.suites.comparisons import write_comparisons
from rscolor.suites.curves import write_curves
from rscolor.suites.evaluate import evaluate_all
from rscolor.suites.figure import write_figure
from rscolor.suites.folder import (
    SuiteLock,
    check_out_folder,
    load_method_configs,
    make_suite_split,
    suite_settings,
)
from rscolor.suites.methods import SCALES, resolve_configs_dir, suites_for, unique_methods
from rscolor.suites.per_class import write_per_class
from rscolor.suites.records import BenchmarkOptions, BenchmarkResult, Runs, SuiteRun, finished_runs
from rscolor.suites.report import write_tables
from rscolor.suites.train import train_or_reuse
from rscolor.utils.io import atomic_write_text
from rscolor.utils.sampling import evenly_spaced


def check_options(opts: BenchmarkOptions) -> None:
    if opts.scale not in SCALES:
        raise UserError(f"unknown scale {opts.scale!r}: use {', '.join(SCALES)}")
    if not opts.data.is_dir():
        raise UserError(f"data folder not found: {opts.data}")
    names = (
        "epochs",
        "max_train_images",
        "max_steps_per_epoch",
        "max_test_images",
        "seeds",
        "jobs",
    )
    for name in names:
        value = getattr(opts, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")


def run_suite(opts: BenchmarkOptions) -> BenchmarkResult:
    check_options(opts)
    requested = suites_for(opts.suite)
    configs_dir = resolve_configs_dir(opts.configs_dir)
    covered = [s for name in check_out_folder(opts, requested) for s in suites_for(name)]
    log = print if opts.progress else (lambda _msg: None)
    opts.out.mkdir(parents=True, exist_ok=True)
    with SuiteLock(opts.out):
        methods = unique_methods(covered)
        cfgs = load_method_configs(opts, methods, configs_dir)
        seeds = list(cfgs[methods[0].key])
        atomic_write_text(
            opts.out / "suite.json",
            json.dumps(
                {**suite_settings(opts), "suites": [s.name for s in covered], "seeds": seeds},
                indent=1,
            ),
        )
        first = cfgs[methods[0].key][seeds[0]]
        split = make_suite_split(opts, first)
        runs: Runs = {
            m.key: [
                SuiteRun(m, cfg, opts.out / "runs" / m.key / f"seed-{seed}", seed=seed)
                for seed, cfg in cfgs[m.key].items()
            ]
            for m in methods
        }
        trained = train_or_reuse(runs, {m.key for m in unique_methods(requested)}, opts, log)
        unfinished = [k for k, rs in runs.items() if not finished_runs(rs)]
        if unfinished:  # an earlier suite of this folder is not finished: table the others
            log(f"not finished (rerun their suite to train them): {', '.join(unfinished)}")
            covered = [s for s in covered if not any(m.key in unfinished for m in s.methods)]
            runs = {m.key: runs[m.key] for m in unique_methods(covered)}
        if not covered:
            raise UserError(f"no method of {opts.out} has a finished run to table yet")
        test_files = evenly_spaced(split.test, opts.max_test_images)
        by_seed = evaluate_all(runs, opts, test_files, first.data.eval_size)
        evaluation = by_seed.merged()
        written = write_tables(opts, covered, runs, split, test_files, by_seed)
        written += write_comparisons(opts, covered, runs, by_seed)
        written += write_per_class(opts.out, covered, runs, evaluation)
        written.append(write_figure(opts, covered, runs, test_files, first.data.eval_size))
        written.append(write_curves(opts.out, covered, runs))
    return BenchmarkResult(
        opts.out, covered, runs, split, test_files, evaluation, written, trained, by_seed
    )
