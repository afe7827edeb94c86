"""The training loop: one code path for CPU, one GPU and ``torchrun`` on many.

A run directory holds::

    split.json      the train / test / val manifest (reused by evaluation)
    config.yaml     the resolved config
    last.pt         full training state, written atomically each epoch (and every
                    `checkpoint_every_steps`); --resume continues from it exactly
    best.pt         the generator of the best epoch by validation score (for inference;
                    its weight average when `train.ema_decay` is set)
    history.csv     per-epoch losses and validation metrics
    history.png     a plot of it
    train.log       what the run printed: sizes, effective batch, learning rates, epochs

The parts: `Trainer` (here) builds the data and the step and runs the epochs, validation
and selection of the best epoch; `training/step.GanStep` is one step (networks,
optimizers, AMP, NaN guard, adversarial warm-up); `training/state` is what makes a resume
exact (RNG streams, counters, resume config); `training/runlog` the run's log and summary.

Under ``torchrun`` every process runs this same loop on its shard of the data; DDP
averages the gradients, so parameters stay identical on every rank, and only rank 0
validates and writes files.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from tqdm import tqdm

from rscolor.data.dataset import mean_ab
from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig, recorded_config
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.colorizer import Colorizer, shipped_model_path
from rscolor.metrics.evaluate import evaluate_images
from rscolor.modelfile import ModelMeta, inference_payload, load_checkpoint, save_checkpoint
from rscolor.models.registry import norm_layers, with_classes
from rscolor.training import distributed as D
from rscolor.training.history import plot_history, write_csv
from rscolor.training.runlog import RunLog, RunScale, describe
from rscolor.training.selection import epoch_score, is_better, selection_metric
from rscolor.training.setup import build_data, prepare_split
from rscolor.training.state import (
    RunState,
    check_resume_state,
    resume_config,
    rng_state,
    seed_everything,
    set_rng_state,
)
from rscolor.training.step import GanStep, TrainingDiverged, unwrap
from rscolor.utils.io import atomic_write_text
from rscolor.utils.sampling import evenly_spaced


@dataclass
class TrainSummary:
    run_dir: Path
    epochs: int
    best_epoch: int
    best_score: float
    seconds: float


class Trainer:
    """One training run in RUN: `build`, then `fit` (or `fit(resume=True)`)."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        run_dir: str | Path,
        data_root: str | Path | None = None,
        split_manifest: str | Path | None = None,
        progress: bool = True,
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        root = data_root or cfg.data.root
        if root is None:
            raise UserError("no data folder: give --data DIR or data.root in the config")
        self.data_root = Path(root)
        self.split_manifest = Path(split_manifest) if split_manifest else None
        self.progress = progress
        self.dist, self.device = D.init_distributed(cfg.train.device)
        self.state = RunState()
        self.step: GanStep  # the networks and their optimizers, made by `build`
        self.classes: list[str] | None = None  # the scene-class head's, set by `build`
        self.runlog = RunLog(self.run_dir, self.dist.is_main, progress)
        self.mean_ab: tuple[float, float] = (0.0, 0.0)
        self._ignored_changes: list[str] = []
        self._images_per_s = math.nan
        self.scene_px = 0
        self.selected_by: str = cfg.train.select_metric  # set from the split in `build`

    # ----------------------------------------------------------------- set-up
    def log(self, message: str) -> None:
        """Rank 0 only: to the console (unless quiet) and to RUN/train.log."""
        self.runlog(message)

    def build(self) -> None:
        cfg = self.cfg
        if self.dist.is_main:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                message = f"cannot create run folder {self.run_dir}: {exc.strerror}"
                raise UserError(message) from None
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        D.check_norm(norm_layers(cfg), self.dist, self.device)
        # Each rank its own seed (its own dropout masks); DDP copies rank 0's initial weights.
        seed_everything(cfg.train.seed + self.dist.rank, cfg.train.deterministic)
        self.split = prepare_split(
            self.run_dir, self.data_root, cfg, self.dist, self.split_manifest
        )
        self.selected_by = selection_metric(cfg.train.select_metric, bool(self.split.val))
        self.use_classes()
        self.build_data()
        self.build_models()

    def use_classes(self) -> None:
        """With loss.class_weight, the scene-class head gets one output per class folder of
        the split (recorded in the config, so the model file rebuilds it)."""
        self.classes = self.split.classes() if self.cfg.loss.class_weight > 0 else None
        if self.classes:
            generator = with_classes(self.cfg.generator, len(self.classes))
            self.cfg = self.cfg.model_copy(update={"generator": generator})

    def build_data(self) -> None:
        data = build_data(
            self.cfg, self.data_root, self.split.train, self.dist, self.device, self.classes
        )
        self.dataset, self.sampler, self.loader = data.dataset, data.sampler, data.loader
        self.scene_px = data.scene_px

    def build_models(self) -> None:
        self.step = GanStep.build(self.cfg, self.device, self.dist)
        self.step.batches_per_epoch = self.sampler.batches_per_epoch()
        self.step.diverged = self.diverged

    def init_weights(self, source: str) -> None:
        """Fine-tuning: the generator (and a matching discriminator) from a checkpoint;
        `source` is a path, or ``shipped`` for the model that ships in the package."""
        path = shipped_model_path() if source == "shipped" else Path(source)
        what = self.step.init_from(path)
        self.log(f"initialised the {what} from {path}")

    def eval_generator(self) -> nn.Module:
        """The weights that are validated and saved as best.pt: the EMA when kept."""
        return self.step.eval_generator()

    # ---------------------------------------------------------------- resume
    def checkpoint_state(self, rng: list[dict[str, Any]]) -> dict[str, Any]:
        """What last.pt holds."""
        return {
            "config": self.cfg.to_dict(),
            **self.step.state_dict(),
            **self.state.to_state(),
            "rng": rng,  # one entry per rank
            "world_size": self.dist.world_size,
            "meta": self.meta().to_dict(),
        }

    def load_state(self, ckpt: dict[str, Any]) -> None:
        try:
            self.step.load_state_dict(ckpt)
        except RuntimeError:
            raise UserError("last.pt does not match this config's architecture") from None
        self.state = RunState.from_state(ckpt)
        self.mean_ab = tuple(ckpt["meta"]["mean_ab"])
        states = ckpt["rng"]
        if isinstance(states, dict):  # written before per-rank states (one process)
            states = [states]
        if ckpt.get("world_size", 1) == self.dist.world_size:
            set_rng_state(states[self.dist.rank])
        else:
            self.log(
                f"note: last.pt was written by {ckpt.get('world_size', 1)} process(es), this run "
                f"has {self.dist.world_size}: the data shards and random streams differ from "
                "an uninterrupted run from here on"
            )

    def read_resume_checkpoint(self) -> dict[str, Any] | None:
        """last.pt, if any; adopts its config (except the runtime fields) before `build`."""
        last = self.run_dir / "last.pt"
        if not last.is_file():
            return None
        ckpt = load_checkpoint(last, map_location="cpu")
        check_resume_state(ckpt, last)
        tree, ignored = resume_config(ckpt["config"], self.cfg)
        self.cfg = recorded_config(tree, str(last))
        self._ignored_changes = ignored
        return ckpt

    def meta(self) -> ModelMeta:
        return ModelMeta(
            method=self.cfg.method,
            color_space=self.cfg.color_space,
            train_size=self.cfg.data.crop_size,
            mean_ab=tuple(float(v) for v in self.mean_ab),
            best_epoch=self.state.best_epoch,
            best_score=self.state.best_score,
            select_metric=self.selected_by,
            data=self.data_root.name,
            gsd_note=self.cfg.gsd_note,
            gsd_m=self.cfg.data.gsd_m,
            scene_px=self.scene_px,
            encoder_init=self.step.encoder_init,
            classes=self.classes,
        )

    def save_last(self) -> None:
        """Write last.pt (collective: every rank calls it), never with non-finite weights."""
        self.step.check_weights()
        rng = D.all_gather(self.dist, rng_state())
        if self.dist.is_main:
            save_checkpoint(self.run_dir / "last.pt", self.checkpoint_state(rng))

    # -------------------------------------------------------------- training
    def adv_factor(self) -> float:
        """The share of `gan_weight` in force at this step (`GanStep.adv_factor`)."""
        return self.step.adv_factor(self.state.global_step)

    def train_step(
        self, lum: torch.Tensor, target: torch.Tensor, labels: torch.Tensor | None = None
    ) -> dict[str, float]:
        return self.step(lum, target, self.state.global_step, labels)

    def diverged(self, what: str) -> TrainingDiverged:
        last = self.run_dir / "last.pt"
        kept = f"the last good checkpoint is {last}"
        if not last.is_file():
            kept = "no checkpoint was written yet"
        where = f"epoch {self.state.epoch + 1}, step {self.state.global_step + 1}"
        return TrainingDiverged(
            f"{what} became NaN/inf at {where}; "
            f"stopped, {kept} (try a lower optim.lr, optim.grad_clip, or train.amp: bf16)"
        )

    def run_epoch(self) -> None:
        state = self.state
        self.sampler.set_epoch(state.epoch, state.step_in_epoch)
        self.step.train_mode()
        total = self.sampler.batches_per_epoch()
        bar = tqdm(
            self.loader,
            total=total,
            initial=state.step_in_epoch,
            desc=f"epoch {state.epoch + 1}/{self.cfg.train.epochs}",
            disable=not (self.progress and self.dist.is_main),
            dynamic_ncols=True,
        )
        every = self.cfg.train.checkpoint_every_steps
        first, started = state.step_in_epoch, time.perf_counter()
        for batch in bar:
            lum = batch["lum"].to(self.device, non_blocking=True)
            target = batch["target"].to(self.device, non_blocking=True)
            labels = batch["label"].to(self.device) if "label" in batch else None
            logs = self.train_step(lum, target, labels)
            state.accumulate(logs)
            state.global_step += 1
            state.step_in_epoch += 1
            bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items() if k != "g_loss"})
            if every and state.global_step % every == 0 and state.step_in_epoch < total:
                self.save_last()
        bar.close()
        images = (state.step_in_epoch - first) * self.cfg.train.batch_size * self.dist.world_size
        self._images_per_s = images / max(time.perf_counter() - started, 1e-9)

    # ------------------------------------------------------------ validation
    def validate(self) -> dict[str, float]:
        cfg = self.cfg
        files = evenly_spaced(self.split.val, cfg.data.val_max_images)
        if not files:
            return {}
        colorizer = Colorizer(self.eval_generator(), cfg, self.meta(), self.device)
        result = evaluate_images(
            {"model": rgb_colorizer(colorizer)},  # at --scale auto, as users run it
            self.data_root,
            files,
            eval_size=cfg.data.eval_size,
            references=False,
            progress=self.progress,
            desc="validate",
            chroma=True,
        )
        unwrap(self.step.g).train()
        return result.rows["model"]

    def end_epoch(self, started: float) -> None:
        self.step.check_weights()
        for module in (self.step.g_raw, self.step.d_raw):
            if module is not None:
                D.broadcast_buffers(self.dist, module)
        row: dict[str, Any] = {"epoch": self.state.epoch + 1, "step": self.state.global_step}
        row.update(self.state.epoch_means())
        row["lr"] = self.step.opt_g.param_groups[0]["lr"]  # the lr this epoch trained with
        self.step.schedulers_step()
        if self.dist.is_main:
            self.record_epoch(row, started)
        self.state.epoch += 1
        self.state.step_in_epoch = 0
        self.state.sums = {}
        self.save_last()
        D.barrier(self.dist)

    def record_epoch(self, row: dict[str, Any], started: float) -> None:
        """Rank 0: validate, keep best.pt if this epoch is the best, update the history."""
        val = self.validate()
        row.update({f"val_{k}": v for k, v in val.items() if k != "images"})
        row["seconds"] = time.time() - started
        row["train_images_per_s"] = self._images_per_s  # all ranks, data loading included
        score = epoch_score(self.selected_by, row, val)
        state = self.state
        if is_better(score, state.best_score, self.selected_by):
            state.best_score, state.best_epoch = float(score), state.epoch + 1
            payload = inference_payload(self.eval_generator(), self.cfg, self.meta())
            save_checkpoint(self.run_dir / "best.pt", payload)
        state.history.append(row)
        write_csv(self.run_dir / "history.csv", state.history)
        plot_history(self.run_dir / "history.png", state.history, self.selected_by)
        shown = {k: round(v, 3) for k, v in row.items() if k.startswith("val_")}
        rate = f"{self._images_per_s:.1f} images/s"
        self.log(f"epoch {state.epoch + 1} ({rate}): {shown} (best: epoch {state.best_epoch})")

    # -------------------------------------------------------------- the run
    def describe(self) -> list[str]:
        """The run's scale, as the log states it."""
        scale = RunScale(
            device=self.device,
            world_size=self.dist.world_size,
            images=len(self.dataset),
            steps_per_epoch=self.sampler.batches_per_epoch(),
            selected_by=self.selected_by,
            validated=bool(self.split.val),
            discriminator=self.step.d_raw is not None,
        )
        return describe(self.cfg, scale)

    def fit(self, resume: bool = False) -> TrainSummary:
        """Train to `train.epochs`; with `resume`, continue RUN/last.pt if there is one.
        A run that fails before its first last.pt removes the run folder it created, so
        nothing of it (a split.json, a config.yaml) changes the next run."""
        created = not self.run_dir.exists()
        try:
            return self._fit(resume)
        except BaseException:
            if created and self.dist.is_main and not (self.run_dir / "last.pt").exists():
                shutil.rmtree(self.run_dir, ignore_errors=True)
            raise
        finally:
            D.cleanup(self.dist)

    def start(self, ckpt: dict[str, Any] | None, resume: bool) -> None:
        """Continue last.pt's state, or start afresh (fine-tune init, the mean chroma)."""
        if ckpt is not None:
            self.load_state(ckpt)
            where = f"epoch {self.state.epoch + 1}, batch {self.state.step_in_epoch}"
            self.log(f"resumed from {self.run_dir / 'last.pt'}: {where}")
            if self._ignored_changes:
                ignored = ", ".join(self._ignored_changes)
                self.log(f"note: resuming with last.pt's config; ignored changes to {ignored}")
            return
        if resume:
            self.log(f"no checkpoint in {self.run_dir}: starting from scratch")
        if self.cfg.train.init_from:
            self.init_weights(self.cfg.train.init_from)
        if self.dist.is_main:  # only rank 0 writes checkpoints, which carry it
            self.mean_ab = mean_ab(self.data_root, self.dataset.files, progress=self.progress)

    def _fit(self, resume: bool) -> TrainSummary:
        ckpt = self.read_resume_checkpoint() if resume else None
        self.build()
        self.start(ckpt, resume)
        del ckpt
        if self.dist.is_main:
            text = yaml.safe_dump(self.cfg.to_dict(), sort_keys=False)
            atomic_write_text(self.run_dir / "config.yaml", text)
        for line in self.describe():
            self.log(line)
        started = time.time()
        while self.state.epoch < self.cfg.train.epochs:
            epoch_start = time.time()
            self.run_epoch()
            self.end_epoch(epoch_start)
        state = self.state
        return TrainSummary(
            self.run_dir, state.epoch, state.best_epoch, state.best_score, time.time() - started
        )
