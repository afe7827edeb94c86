"""`rscolor train`."""

from __future__ import annotations

import sys
from pathlib import Path

from rscolor.config import load_config
from rscolor.training.trainer import Trainer, TrainingDiverged


def default_run_dir(config: Path) -> Path:
    return Path("runs") / config.stem


def run_train(
    config: Path,
    data: Path | None,
    out: Path | None,
    resume: bool,
    split_manifest: Path | None,
    progress: bool = True,
) -> None:
    cfg = load_config(config)
    run_dir = out or default_run_dir(config)
    if not resume and (run_dir / "last.pt").exists():
        from rscolor.errors import UserError

        raise UserError(f"{run_dir} already holds a run: add --resume to continue it, or pick --out")
    trainer = Trainer(cfg, run_dir, data, split_manifest, progress=progress)
    try:
        summary = trainer.fit(resume=resume)
    except TrainingDiverged as exc:
        print(f"rscolor: training stopped: {exc}", file=sys.stderr)
        sys.exit(3)
    if trainer.dist.is_main:
        print(
            f"done: {summary.epochs} epochs in {summary.seconds / 60:.1f} min; best epoch "
            f"{summary.best_epoch} ({cfg.train.select_metric} {summary.best_score:.4g}); "
            f"model: {run_dir / 'best.pt'}"
        )
