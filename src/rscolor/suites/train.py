"""Training a suite's runs: reuse the finished ones, resume or train the others (seed by
seed), each in its run folder with done.json once finished."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import yaml

from rscolor.config import without_runtime
from rscolor.errors import UserError
from rscolor.experiment import upgraded
from rscolor.models.blocks import count_parameters
from rscolor.suites.folder import read_json
from rscolor.suites.parallel import parallel_map
from rscolor.suites.records import BenchmarkOptions, RunRecord, Runs, SuiteRun
from rscolor.training.trainer import Trainer, TrainingDiverged
from rscolor.utils.dotted import dotted_diff
from rscolor.utils.io import atomic_write_text


def finished_record(run: SuiteRun) -> RunRecord | None:
    """The run's done.json when it is finished with the config it would get now."""
    done = read_json(run.run_dir / "done.json")
    if done is None:
        return None
    record = RunRecord(**done)
    recorded = without_runtime(upgraded(record.config))
    diff = dotted_diff(recorded, without_runtime(run.cfg.to_dict()))
    if diff:
        raise UserError(
            f"{run.run_dir} was trained with another config ({', '.join(diff[:4])} differ): "
            "delete that folder to retrain it, or use another --out"
        )
    if record.status == "done" and not (run.run_dir / "best.pt").is_file():
        raise UserError(
            f"{run.run_dir} is marked done but has no best.pt: delete that folder to retrain it"
        )
    return record


def check_unfinished(run: SuiteRun, split_path: Path) -> None:
    """An unfinished run may be resumed only with the same config and split."""
    started = run.run_dir / "config.yaml"
    if started.is_file():
        old = yaml.safe_load(started.read_text()) or {}
        diff = dotted_diff(without_runtime(old), without_runtime(run.cfg.to_dict()))
        if diff:
            raise UserError(
                f"{run.run_dir} was started with another config ({', '.join(diff[:4])} differ): "
                "delete that folder to retrain it"
            )
    own_split = run.run_dir / "split.json"
    if own_split.is_file() and own_split.read_text() != split_path.read_text():
        raise UserError(
            f"{run.run_dir} was started on another split: delete that folder to retrain it"
        )


def train_run(
    run: SuiteRun,
    opts: BenchmarkOptions,
    split_path: Path,
    log: Callable[[str], None] | None = None,
) -> RunRecord:
    log = log or print
    check_unfinished(run, split_path)
    resuming = (run.run_dir / "last.pt").is_file()
    log(f"[{run.name}] {'resuming' if resuming else 'training'} in {run.run_dir}")
    trainer = Trainer(run.cfg, run.run_dir, opts.data, split_path, progress=opts.progress)
    status, message = "done", ""
    try:
        trainer.fit(resume=True)
    except TrainingDiverged as exc:
        status, message = "diverged", str(exc)
        log(f"[{run.name}] diverged: {exc}")
    record = RunRecord(
        status=status,
        seconds=float(sum(row.get("seconds", 0.0) for row in trainer.state.history)),
        epochs=trainer.state.epoch,
        best_epoch=trainer.state.best_epoch,
        g_params=count_parameters(trainer.step.g_raw),
        d_params=count_parameters(trainer.step.d_raw) if trainer.step.d_raw is not None else 0,
        device=trainer.device.type,
        message=message,
        mean_ab=list(trainer.mean_ab),
        config=trainer.cfg.to_dict(),
    )
    del trainer
    gc.collect()
    atomic_write_text(run.run_dir / "done.json", record.to_json())
    return record


def seed_major(runs: Runs) -> list[SuiteRun]:
    """Every run, seed by seed: a suite stopped part-way has whole seeds to compare."""
    seeds = sorted({run.seed for rs in runs.values() for run in rs})
    return [run for seed in seeds for rs in runs.values() for run in rs if run.seed == seed]


def train_or_reuse(
    runs: Runs,
    to_train: set[str],
    opts: BenchmarkOptions,
    log: Callable[[str], None],
) -> list[str]:
    """Fill each run's record: reuse finished runs, train (or resume) those of the
    requested suites, seed by seed; returns the names of the runs trained by this call."""
    pending = []
    for run in seed_major(runs):
        run.record = finished_record(run)
        if run.record is not None:
            log(f"[{run.name}] finished run reused: {run.run_dir}")
        elif run.method.key in to_train and not opts.report_only:
            pending.append(run)
    split_path = opts.out / "split.json"
    if opts.jobs <= 1:  # in this process: a run's record is kept as soon as it is done
        for run in pending:
            run.record = train_run(run, opts, split_path, log)
    else:
        calls = [(run, opts, split_path, None) for run in pending]
        for run, record in zip(pending, parallel_map(train_run, calls, opts.jobs), strict=True):
            run.record = record
    return [run.name for run in pending]
