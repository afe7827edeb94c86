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

Under ``torchrun`` every process runs this same loop on its shard of the data; DDP
averages the gradients, so parameters stay identical on every rank, and only rank 0
validates and writes files. Exact resume: last.pt holds the weights, both optimizers and
schedulers, the GradScaler, epoch / step / position in the epoch, the epoch's running
loss sums, the best score so far and every rank's RNG states; the sampler and the data
augmentation are seeded by (seed, epoch, index), and the DataLoader draws its base seed
from its own generator, not the global one, so a resumed run consumes the same random
numbers as an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from rscolor.config import ExperimentConfig, config_from_dict
from rscolor.data.dataset import ColorizationDataset, mean_ab
from rscolor.data.images import median_side
from rscolor.data.split import Split, load_or_make_split
from rscolor.errors import UserError
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.colorizer import Colorizer, shipped_model_path
from rscolor.metrics.evaluate import evaluate_images
from rscolor.modelfile import (
    float_state,
    inference_payload,
    load_checkpoint,
    save_checkpoint,
)
from rscolor.models.discriminators import pyramid
from rscolor.models.registry import build_discriminator, build_generator, is_multiscale_d
from rscolor.training import distributed as D
from rscolor.training.ema import make_ema
from rscolor.training.history import plot_history, write_csv
from rscolor.training.losses import gan_loss, l1_loss
from rscolor.training.sampler import ResumableSampler
from rscolor.utils.io import atomic_write_text
from rscolor.utils.sampling import evenly_spaced

LOWER_IS_BETTER = {"ciede2000", "l1", "train_l1"}
TRAIN_L1 = "train_l1"  # what picks the best epoch when there is no validation score
# Config fields a resumed run takes from the command line rather than from last.pt: they
# change where and how fast it runs, not what it computes.
RUNTIME_FIELDS = {
    "train.device",
    "train.threads",
    "train.checkpoint_every_steps",
    "train.compile",
    "data.num_workers",
    "data.root",
}


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainSummary:
    run_dir: Path
    epochs: int
    best_epoch: int
    best_score: float
    seconds: float


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # Training crops have one fixed size: let cuDNN pick its fastest kernels, unless the
    # run must be reproducible.
    torch.backends.cudnn.benchmark = not deterministic
    if deterministic:
        # cuBLAS reads this when its first handle is made (before any matmul here).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)


def rng_state() -> dict[str, Any]:
    """Every random stream, as tensors and plain data: it loads with weights_only=True."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "python": [version, list(internal), gauss_next],
        "numpy": {
            "kind": kind,
            "key": torch.from_numpy(key.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore `rng_state()` (also the older form with numpy's own state tuple)."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        key = np.asarray(numpy_state["key"], dtype=np.int64).astype(np.uint32)
        numpy_state = (
            numpy_state["kind"],
            key,
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def selection_metric(select_metric: str, has_val: bool) -> str:
    """The score that picks the best epoch, as recorded: the configured validation metric,
    or the training L1 (``train_l1``) without validation images (or for ``l1``, which
    validation does not compute), never a training score under a validation name."""
    return select_metric if has_val and select_metric != "l1" else TRAIN_L1


def set_requires_grad(module: nn.Module | None, flag: bool) -> None:
    if module is not None:
        for p in module.parameters():
            p.requires_grad_(flag)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module under torch.compile and DDP wrappers (in either order)."""
    while True:
        if isinstance(module, DistributedDataParallel):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod
        else:
            return module


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def resume_config(
    stored: dict[str, Any], current: ExperimentConfig
) -> tuple[dict[str, Any], list[str]]:
    """last.pt's config with the runtime fields of `current`; and the other fields that
    differ (ignored: changing them would not continue the same run)."""
    now = flatten(current.to_dict())
    merged = {
        k: (now[k] if k in RUNTIME_FIELDS and k in now else v) for k, v in flatten(stored).items()
    }
    ignored = sorted(k for k, v in now.items() if k not in RUNTIME_FIELDS and merged.get(k) != v)
    tree: dict[str, Any] = {}
    for key, value in merged.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree, ignored


def all_finite(tensors: list[torch.Tensor]) -> bool:
    if not tensors:
        return True
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all())


def lr_lambda(kind: str, epochs: int):
    """pix2pix schedule: constant for the first half, then linear (or cosine) to 0."""
    half = epochs // 2

    def factor(epoch: int) -> float:
        if kind == "none" or epoch < half:
            return 1.0
        progress = (epoch - half + 1) / max(1, epochs - half + 1)
        if kind == "linear":
            return 1.0 - progress
        return 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class Trainer:
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
        self.history: list[dict[str, Any]] = []
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.best_score = math.nan
        self.best_epoch = -1
        self.mean_ab: tuple[float, float] = (0.0, 0.0)
        self._sums: dict[str, float] = {}
        self._ignored_changes: list[str] = []
        self._images_per_s = math.nan
        self.scene_px = 0
        self.selected_by = cfg.train.select_metric  # set from the split in `build`

    # ----------------------------------------------------------------- set-up
    def log(self, message: str) -> None:
        """Rank 0 only: to the console (unless quiet) and to RUN/train.log."""
        if not self.dist.is_main:
            return
        if self.progress:
            tqdm.write(message)
        if self.run_dir.is_dir():
            with open(self.run_dir / "train.log", "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def prepare_split(self) -> Split:
        """RUN/split.json. Before the first last.pt nothing depends on it: --split-manifest
        replaces it, and one left from other data is remade; after, it must match."""
        manifest = self.run_dir / "split.json"
        fresh = not (self.run_dir / "last.pt").exists()
        given = self.split_manifest is not None and fresh
        if given and self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.split_manifest, manifest)  # type: ignore[arg-type]
        if self.dist.is_main:
            split = load_or_make_split(
                self.data_root,
                manifest,
                self.cfg.data.split_ratios,
                self.cfg.data.split_seed,
                remake=fresh and not given,
            )
        D.barrier(self.dist)
        if not self.dist.is_main:
            split = Split.load(manifest)
        if not split.train:
            raise UserError(f"no training images in {self.data_root}")
        return split

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
        D.check_norm([cfg.generator.norm, cfg.discriminator.norm], self.dist, self.device)
        # Each rank its own seed (its own dropout masks); DDP copies rank 0's initial weights.
        seed_everything(cfg.train.seed + self.dist.rank, cfg.train.deterministic)
        self.split = self.prepare_split()
        self.selected_by = selection_metric(cfg.train.select_metric, bool(self.split.val))
        # evenly spaced over the class-sorted list, so every class keeps its share
        files = evenly_spaced(self.split.train, cfg.data.max_train_images)
        self.dataset = ColorizationDataset(
            self.data_root,
            files,
            cfg.color_space,
            cfg.data.crop_size,
            train=True,
            hflip=cfg.data.hflip,
            vflip=cfg.data.vflip,
            cache=cfg.data.cache,
            seed=cfg.train.seed,
            rescale=cfg.data.rescale,
        )
        self.scene_px = cfg.data.scene_px or median_side(self.data_root, files)
        self.sampler = ResumableSampler(
            len(self.dataset),
            cfg.train.batch_size,
            cfg.train.seed,
            self.dist.rank,
            self.dist.world_size,
            cfg.train.max_steps_per_epoch,
        )
        if self.sampler.batches_per_epoch() == 0:
            raise UserError(
                f"{len(self.dataset)} training images are fewer than one batch of "
                f"{cfg.train.batch_size} per process"
            )
        self.loader = DataLoader(
            self.dataset,
            batch_size=cfg.train.batch_size,
            sampler=self.sampler,
            num_workers=cfg.data.num_workers,
            persistent_workers=cfg.data.num_workers > 0,
            pin_memory=self.device.type == "cuda",
            # Without its own generator, each new iterator (every epoch, and on resume)
            # draws a seed from the global RNG and shifts the dropout masks that follow.
            generator=torch.Generator().manual_seed(cfg.train.seed),
        )
        self.build_models()

    def build_models(self) -> None:
        cfg = self.cfg
        g = build_generator(cfg).to(self.device)
        d = build_discriminator(cfg)
        d = d.to(self.device) if d is not None else None
        if self.device.type == "cuda" and cfg.train.channels_last:
            g = g.to(memory_format=torch.channels_last)
            d = d.to(memory_format=torch.channels_last) if d is not None else None
        self.g_raw, self.d_raw = g, d
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_g = torch.optim.Adam(g.parameters(), lr=cfg.optim.lr, betas=betas)
        self.opt_d = (
            torch.optim.Adam(d.parameters(), lr=cfg.optim.lr * cfg.optim.d_lr_ratio, betas=betas)
            if d is not None
            else None
        )
        factor = lr_lambda(cfg.optim.lr_decay, cfg.train.epochs)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, factor)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, factor) if self.opt_d else None
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.device.type == "cuda" and cfg.train.amp == "fp16"
        )
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            g = DistributedDataParallel(g, device_ids=ids)
            d = DistributedDataParallel(d, device_ids=ids) if d is not None else None
        if cfg.train.compile:
            g = torch.compile(g)
        self.g, self.d = g, d
        self.multiscale = is_multiscale_d(cfg)
        self.ema = make_ema(self.g_raw, cfg.train.ema_decay) if cfg.train.ema_decay else None

    def init_weights(self, source: str) -> None:
        """Fine-tuning: the generator (and a matching discriminator) from a checkpoint;
        `source` is a path, or ``shipped`` for the model that ships in the package."""
        path = shipped_model_path() if source == "shipped" else Path(source)
        ckpt = load_checkpoint(path, map_location="cpu")
        try:
            self.g_raw.load_state_dict(float_state(ckpt["generator"]))
        except RuntimeError:
            raise UserError(
                f"train.init_from: {path} holds a different generator than this config's"
            ) from None
        d_state = ckpt.get("discriminator")
        loaded_d = False
        if self.d_raw is not None and d_state is not None:
            try:
                self.d_raw.load_state_dict(d_state)
                loaded_d = True
            except RuntimeError:
                pass
        # The EMA needs no reset: its first update copies the generator as it is then.
        what = "generator and discriminator" if loaded_d else "generator"
        self.log(f"initialised the {what} from {path}")

    def eval_generator(self) -> nn.Module:
        """The weights that are validated and saved as best.pt: the EMA when kept."""
        return self.ema.module if self.ema is not None else unwrap(self.g)

    @property
    def amp_dtype(self) -> torch.dtype | None:
        if self.device.type != "cuda" or self.cfg.train.amp == "off":
            return None
        return torch.bfloat16 if self.cfg.train.amp == "bf16" else torch.float16

    def autocast(self):
        dtype = self.amp_dtype
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    # ---------------------------------------------------------------- resume
    def state(self, rng: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(),
            "generator": self.g_raw.state_dict(),
            "discriminator": self.d_raw.state_dict() if self.d_raw is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d else None,
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict() if self.sched_d else None,
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "step": self.global_step,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "epoch_sums": self._sums,
            "rng": rng,  # one entry per rank
            "world_size": self.dist.world_size,
            "meta": self.meta(),
        }

    def load_state(self, ckpt: dict[str, Any]) -> None:
        try:
            self.g_raw.load_state_dict(ckpt["generator"])
            if self.d_raw is not None and ckpt.get("discriminator") is not None:
                self.d_raw.load_state_dict(ckpt["discriminator"])
        except RuntimeError:
            raise UserError("last.pt does not match this config's architecture") from None
        self.opt_g.load_state_dict(ckpt["opt_g"])
        if self.opt_d and ckpt.get("opt_d"):
            self.opt_d.load_state_dict(ckpt["opt_d"])
        self.sched_g.load_state_dict(ckpt["sched_g"])
        if self.sched_d and ckpt.get("sched_d"):
            self.sched_d.load_state_dict(ckpt["sched_d"])
        self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        self.epoch, self.step_in_epoch = ckpt["epoch"], ckpt["step_in_epoch"]
        self.global_step = ckpt["step"]
        self.best_score, self.best_epoch = ckpt["best_score"], ckpt["best_epoch"]
        self.history = ckpt["history"]
        self._sums = dict(ckpt.get("epoch_sums") or {})
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
        tree, ignored = resume_config(ckpt["config"], self.cfg)
        self.cfg = config_from_dict(tree, str(last))
        self._ignored_changes = ignored
        return ckpt

    def meta(self) -> dict[str, Any]:
        return {
            "method": self.cfg.method,
            "color_space": self.cfg.color_space,
            "train_size": self.cfg.data.crop_size,
            "mean_ab": list(self.mean_ab),
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "select_metric": self.selected_by,
            "data": self.data_root.name,
            "gsd_note": self.cfg.gsd_note,
            "gsd_m": self.cfg.data.gsd_m,
            "scene_px": self.scene_px,
        }

    def weights(self) -> list[torch.Tensor]:
        ema = self.ema.module if self.ema is not None else None
        modules = [m for m in (self.g_raw, self.d_raw, ema) if m is not None]
        tensors = [t for m in modules for t in (*m.parameters(), *m.buffers())]
        return [t for t in tensors if t.is_floating_point()]

    def check_weights(self) -> None:
        """A NaN that got past the loss check (through a gradient) stops the run before
        it is validated or saved."""
        if D.any_true(self.dist, not all_finite(self.weights()), self.device):
            raise self.diverged("the weights")

    def save_last(self) -> None:
        """Write last.pt (collective: every rank calls it), never with non-finite weights."""
        self.check_weights()
        rng = D.all_gather(self.dist, rng_state())
        if self.dist.is_main:
            save_checkpoint(self.run_dir / "last.pt", self.state(rng))

    # -------------------------------------------------------------- training
    def generate(self, lum: torch.Tensor) -> list[torch.Tensor]:
        if self.multiscale:
            return self.g(lum, multiscale=True)
        return [self.g(lum)]

    def adv_factor(self) -> float:
        """The share of `gan_weight` in force at this step: 0 during the L1 warm-up,
        then a linear ramp to 1 (loss.adv_warmup_epochs, loss.adv_ramp_epochs)."""
        loss = self.cfg.loss
        epoch = self.global_step / max(self.sampler.batches_per_epoch(), 1)
        if epoch < loss.adv_warmup_epochs:
            return 0.0
        if loss.adv_ramp_epochs <= 0:
            return 1.0
        return min(1.0, (epoch - loss.adv_warmup_epochs) / loss.adv_ramp_epochs)

    def train_step(self, lum: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        cfg = self.cfg
        with self.autocast():
            fakes = self.generate(lum)
        logs: dict[str, float] = {}
        d_loss = None
        adv_weight = cfg.loss.gan_weight * self.adv_factor() if self.d is not None else 0.0
        train_d = adv_weight > 0 and self.global_step % cfg.optim.g_steps_per_d == 0
        if train_d:
            set_requires_grad(self.d, True)
            reals = pyramid(target, len(fakes)) if self.multiscale else [target]
            with self.autocast():
                real_in = reals if self.multiscale else reals[0]
                fake_in = [f.detach() for f in fakes] if self.multiscale else fakes[0].detach()
                d_loss = 0.5 * (
                    gan_loss(self.d(lum, real_in), True, cfg.loss.label_smoothing)
                    + gan_loss(self.d(lum, fake_in), False)
                )
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.opt_d)
        set_requires_grad(self.d, False)
        with self.autocast():
            l1 = l1_loss(fakes, target, cfg.loss.chroma_weight)
            g_loss = cfg.loss.l1_weight * l1
            adv = None
            if adv_weight > 0:
                adv = gan_loss(self.d(lum, fakes if self.multiscale else fakes[0]), True)
                g_loss = g_loss + adv_weight * adv
        self.check_finite(g_loss, d_loss)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_loss).backward()
        if cfg.optim.grad_clip:
            self.scaler.unscale_(self.opt_g)
            nn.utils.clip_grad_norm_(self.g.parameters(), cfg.optim.grad_clip)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update_parameters(self.g_raw)
        logs["l1"] = float(l1.detach())
        logs["g_loss"] = float(g_loss.detach())
        if adv is not None:
            logs["adv"] = float(adv.detach())
        if d_loss is not None:
            logs["d_loss"] = float(d_loss.detach())
        return logs

    def check_finite(self, g_loss: torch.Tensor, d_loss: torch.Tensor | None) -> None:
        """Stop every rank together, before the generator's step, when a loss on any rank
        is NaN/inf. Nothing is saved after this, so last.pt stays the last good state."""
        losses = [g_loss.detach()] + ([d_loss.detach()] if d_loss is not None else [])
        if D.any_true(self.dist, not all_finite(losses), self.device):
            raise self.diverged("the loss")

    def diverged(self, what: str) -> TrainingDiverged:
        last = self.run_dir / "last.pt"
        kept = f"the last good checkpoint is {last}"
        if not last.is_file():
            kept = "no checkpoint was written yet"
        return TrainingDiverged(
            f"{what} became NaN/inf at epoch {self.epoch + 1}, step {self.global_step + 1}; "
            f"stopped, {kept} (try a lower optim.lr, optim.grad_clip, or train.amp: bf16)"
        )

    def accumulate(self, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
            self._sums[f"n_{k}"] = self._sums.get(f"n_{k}", 0.0) + 1

    def epoch_means(self) -> dict[str, float]:
        return {
            k: self._sums[k] / self._sums[f"n_{k}"] for k in self._sums if not k.startswith("n_")
        }

    def run_epoch(self) -> None:
        self.sampler.set_epoch(self.epoch, self.step_in_epoch)
        self.g.train()
        if self.d is not None:
            self.d.train()
        total = self.sampler.batches_per_epoch()
        bar = tqdm(
            self.loader,
            total=total,
            initial=self.step_in_epoch,
            desc=f"epoch {self.epoch + 1}/{self.cfg.train.epochs}",
            disable=not (self.progress and self.dist.is_main),
            dynamic_ncols=True,
        )
        every = self.cfg.train.checkpoint_every_steps
        first, started = self.step_in_epoch, time.perf_counter()
        for batch in bar:
            lum = batch["lum"].to(self.device, non_blocking=True)
            target = batch["target"].to(self.device, non_blocking=True)
            logs = self.train_step(lum, target)
            self.accumulate(logs)
            self.global_step += 1
            self.step_in_epoch += 1
            bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items() if k != "g_loss"})
            if every and self.global_step % every == 0 and self.step_in_epoch < total:
                self.save_last()
        bar.close()
        images = (self.step_in_epoch - first) * self.cfg.train.batch_size * self.dist.world_size
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
        )
        unwrap(self.g).train()
        return result.rows["model"]

    def is_better(self, score: float) -> bool:
        if math.isnan(self.best_score):
            return True
        if self.selected_by in LOWER_IS_BETTER:
            return score < self.best_score
        return score > self.best_score

    def end_epoch(self, started: float) -> None:
        self.check_weights()
        for module in (self.g_raw, self.d_raw):
            if module is not None:
                D.broadcast_buffers(self.dist, module)
        row: dict[str, Any] = {"epoch": self.epoch + 1, "step": self.global_step}
        row.update(self.epoch_means())
        row["lr"] = self.opt_g.param_groups[0]["lr"]  # the lr this epoch trained with
        self.sched_g.step()
        if self.sched_d:
            self.sched_d.step()
        if self.dist.is_main:
            val = self.validate()
            row.update({f"val_{k}": v for k, v in val.items() if k != "images"})
            row["seconds"] = time.time() - started
            row["train_images_per_s"] = self._images_per_s  # all ranks, data loading included
            by = self.selected_by
            score = row.get("l1", math.nan) if by == TRAIN_L1 else val.get(by, math.nan)
            if self.is_better(score):
                self.best_score, self.best_epoch = float(score), self.epoch + 1
                payload = inference_payload(self.eval_generator(), self.cfg, self.meta())
                save_checkpoint(self.run_dir / "best.pt", payload)
            self.history.append(row)
            write_csv(self.run_dir / "history.csv", self.history)
            plot_history(self.run_dir / "history.png", self.history, self.selected_by)
            shown = {k: round(v, 3) for k, v in row.items() if k.startswith("val_")}
            rate = f"{self._images_per_s:.1f} images/s"
            self.log(f"epoch {self.epoch + 1} ({rate}): {shown} (best: epoch {self.best_epoch})")
        self.epoch += 1
        self.step_in_epoch = 0
        self._sums = {}
        self.save_last()
        D.barrier(self.dist)

    # -------------------------------------------------------------- the run
    def describe(self) -> list[str]:
        """The run's scale, as the log states it."""
        cfg, t, world = self.cfg, self.cfg.train, self.dist.world_size
        amp = t.amp if self.device.type == "cuda" else "off (CPU)"
        lines = [
            f"{cfg.method}: {len(self.dataset)} training images, "
            f"{self.sampler.batches_per_epoch()} steps per epoch, {t.epochs} epochs",
            f"{world} process(es) on {self.device.type} x batch {t.batch_size} = "
            f"effective batch {t.batch_size * world}",
            f"lr {cfg.optim.lr:g} (generator), {cfg.optim.lr * cfg.optim.d_lr_ratio:g} "
            f"(discriminator), not scaled with the number of processes",
            f"amp {amp}, channels_last {t.channels_last and self.device.type == 'cuda'}, "
            f"compile {t.compile}, deterministic {t.deterministic}, seed {t.seed}",
            f"best epoch picked by {self.selected_by}"
            + (" (no validation images)" if not self.split.val else ""),
            "weights validated and saved: "
            + (f"EMA (decay {t.ema_decay:g})" if t.ema_decay else "the generator's own"),
        ]
        norms = {cfg.generator.norm, cfg.discriminator.norm if self.d_raw is not None else "none"}
        if world > 1 and "batch" in norms:
            lines.append(
                "norm batch: statistics over each process's own batch, running statistics "
                "from rank 0 (norm syncbatch on CUDA, or instance, for the global batch)"
            )
        return lines

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

    def _fit(self, resume: bool) -> TrainSummary:
        ckpt = self.read_resume_checkpoint() if resume else None
        self.build()
        if ckpt is not None:
            self.load_state(ckpt)
            del ckpt
            where = f"epoch {self.epoch + 1}, batch {self.step_in_epoch}"
            self.log(f"resumed from {self.run_dir / 'last.pt'}: {where}")
            if self._ignored_changes:
                ignored = ", ".join(self._ignored_changes)
                self.log(f"note: resuming with last.pt's config; ignored changes to {ignored}")
        else:
            if resume:
                self.log(f"no checkpoint in {self.run_dir}: starting from scratch")
            if self.cfg.train.init_from:
                self.init_weights(self.cfg.train.init_from)
            if self.dist.is_main:  # only rank 0 writes checkpoints, which carry it
                self.mean_ab = mean_ab(self.data_root, self.dataset.files, progress=self.progress)
        if self.dist.is_main:
            text = yaml.safe_dump(self.cfg.to_dict(), sort_keys=False)
            atomic_write_text(self.run_dir / "config.yaml", text)
        for line in self.describe():
            self.log(line)
        started = time.time()
        while self.epoch < self.cfg.train.epochs:
            epoch_start = time.time()
            self.run_epoch()
            self.end_epoch(epoch_start)
        return TrainSummary(
            self.run_dir, self.epoch, self.best_epoch, self.best_score, time.time() - started
        )
