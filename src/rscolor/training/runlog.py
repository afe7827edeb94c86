"""What a training run says: RUN/train.log (and the console), and the lines that open it
with the run's scale."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig
from rscolor.models.registry import norm_layers


class RunLog:
    """Rank 0 only: to the console (unless quiet) and to RUN/train.log, time-stamped."""

    def __init__(self, run_dir: Path, is_main: bool, progress: bool) -> None:
        self.run_dir, self.is_main, self.progress = run_dir, is_main, progress

    def __call__(self, message: str) -> None:
        if not self.is_main:
            return
        if self.progress:
            tqdm.write(message)
        if self.run_dir.is_dir():
            log = self.run_dir / "train.log"
            try:
                with open(log, "a", encoding="utf-8") as fh:
                    fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
            except OSError as exc:  # a folder, or no permission, in its place
                raise UserError(f"cannot write {log}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class RunScale:
    """What the opening lines state beyond the config: where the run goes and on what."""

    device: torch.device
    world_size: int
    images: int  # training images
    steps_per_epoch: int
    selected_by: str  # the score that picks the best epoch
    validated: bool  # the split has validation images
    discriminator: bool  # the method trains one


def describe(cfg: ExperimentConfig, run: RunScale) -> list[str]:
    """The run's scale, as the log states it: data, steps, processes and effective batch,
    learning rates, precision, selection and the weights kept."""
    t, world, device = cfg.train, run.world_size, run.device
    amp = t.amp if device.type == "cuda" else "off (CPU)"
    lines = [
        f"{cfg.method}: {run.images} training images, "
        f"{run.steps_per_epoch} steps per epoch, {t.epochs} epochs",
        f"{world} process(es) on {device.type} x batch {t.batch_size} = "
        f"effective batch {t.batch_size * world}",
        f"lr {cfg.optim.lr:g} (generator), {cfg.optim.lr * cfg.optim.d_lr_ratio:g} "
        f"(discriminator), not scaled with the number of processes",
        f"amp {amp}, channels_last {t.channels_last and device.type == 'cuda'}, "
        f"compile {t.compile}, deterministic {t.deterministic}, seed {t.seed}",
        f"best epoch picked by {run.selected_by}"
        + ("" if run.validated else " (no validation images)"),
        "weights validated and saved: "
        + (f"EMA (decay {t.ema_decay:g})" if t.ema_decay else "the generator's own"),
    ]
    norms = set(norm_layers(cfg)) if run.discriminator else {cfg.generator.norm_layer()}
    if world > 1 and "batch" in norms:
        lines.append(
            "norm batch: statistics over each process's own batch, running statistics "
            "from rank 0 (norm syncbatch on CUDA, or instance, for the global batch)"
        )
    return lines
