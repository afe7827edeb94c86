"""`rscolor train`."""

from __future__ import annotations

import sys
from pathlib import Path

from rscolor.cli.options import TrainOptions
from rscolor.config import load_config
from rscolor.errors import UserError
from rscolor.training.trainer import Trainer, TrainingDiverged
from rscolor.utils.dotted import parse_overrides

# Exit status of a run stopped by the NaN/inf guard (2 is a user mistake).
EXIT_DIVERGED = 3


def default_run_dir(config: Path) -> Path:
    return Path("runs") / config.stem


def run_train(opts: TrainOptions) -> None:
    config, resume = opts.config, opts.resume
    progress = not opts.quiet
    cfg = load_config(config, parse_overrides(opts.overrides()))
    run_dir = opts.out or default_run_dir(config)
    if not resume and (run_dir / "last.pt").exists():
        raise UserError(
            f"{run_dir} already holds a run: add --resume to continue it, or pick --out"
        )
    trainer = Trainer(cfg, run_dir, opts.data, opts.split_manifest, progress=progress)
    try:
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
