"""`rscolor train`."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from rscolor.cli.options import TrainOptions
from rscolor.errors import UserError
from rscolor.experiment import load_config
from rscolor.training.trainer import Trainer, TrainingDiverged
from rscolor.utils.device import check_threads
from rscolor.utils.dotted import parse_overrides
from rscolor.utils.lock import run_lock
from rscolor.utils.memory import keep_freed_memory

# Exit status of a run stopped by the NaN/inf guard (2 is a user mistake).
EXIT_DIVERGED = 3


def default_run_dir(config: Path) -> Path:
    return Path("runs") / config.stem


def check_run_folder(run_dir: Path, resume: bool, force: bool) -> None:
    """A run folder's files are replaced only when asked: its last.pt is continued with
    --resume, a finished run (best.pt, its last.pt deleted) is trained again only with
    --force (a resume has nothing to continue from)."""
    if (run_dir / "last.pt").exists():
        if not resume:
            raise UserError(
                f"{run_dir} already holds a run: add --resume to continue it, or pick --out"
            )
    elif (run_dir / "best.pt").exists() and not force:
        raise UserError(
            f"{run_dir} holds a finished run (best.pt, no last.pt to resume from): add "
            "--force to train it again from scratch (replacing it), or pick --out"
        )


def run_train(opts: TrainOptions) -> None:
    config, resume = opts.config, opts.resume
    progress = not opts.quiet
    cfg = load_config(config, parse_overrides(opts.overrides()))
    check_threads(cfg.train.threads, "train.threads")
    if cfg.train.keep_freed_memory:
        keep_freed_memory()
    run_dir = opts.out or default_run_dir(config)
    check_run_folder(run_dir, resume, opts.force)
    trainer = Trainer(cfg, run_dir, opts.data, opts.split_manifest, progress=progress)
    # One writer per run folder (rank 0 holds it for all); checked again under the lock.
    lock = run_lock(run_dir, "train") if trainer.dist.is_main else contextlib.nullcontext()
    try:
        with lock:
            check_run_folder(run_dir, resume, opts.force)
            summary = trainer.fit(resume=resume)
    except TrainingDiverged as exc:
        if trainer.dist.is_main:
            print(f"rscolor: training stopped: {exc}", file=sys.stderr)
        sys.exit(EXIT_DIVERGED)
    if trainer.dist.is_main:
        print(
            f"done: {summary.epochs} epochs in {summary.seconds / 60:.1f} min; best epoch "
            f"{summary.best_epoch} ({trainer.selected_by} {summary.best_score:.4g}); "
            f"model: {run_dir / 'best.pt'}"
        )
