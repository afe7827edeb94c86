"""One training step of the conditional GAN: the networks, their optimizers and
schedulers, mixed precision, the NaN guard and the adversarial warm-up / ramp.

`GanStep.build(cfg, device)` makes everything a step needs (what the trainer and
``benchmarks/train_throughput.py`` both use); ``step(lum, target, global_step)`` runs the
generator, steps the discriminator on real and generated pairs while the adversarial
factor is above 0, then the generator on the sum of its loss terms (`generator_terms`:
L1, CIEDE2000, the 'bins' and scene-class heads' cross-entropies, the adversarial term,
each with its weight). A NaN/inf loss on any rank stops every rank together, before the
generator's step. A pretrained encoder stays frozen for train.freeze_encoder_epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from rscolor.color.spaces import AB_SCALE
from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig
from rscolor.modelfile import float_state, load_checkpoint
from rscolor.models import build_discriminator, build_generator
from rscolor.models.chroma_bins import ChromaBins, load_regression_generator
from rscolor.models.discriminators import pyramid
from rscolor.models.registry import check_heads, is_multiscale_d
from rscolor.training import distributed as D
from rscolor.training.ema import make_ema
from rscolor.training.encoders import freeze_encoders, init_encoders
from rscolor.training.losses import (
    Generated,
    LossTerm,
    TermFn,
    bins_loss,
    ciede_loss,
    gan_loss,
    l1_loss,
    loss_logs,
    total_loss,
)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


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
            module = module._orig_mod  # type: ignore[assignment]  # torch.compile's
        else:
            return module


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


def _diverged(what: str) -> TrainingDiverged:
    return TrainingDiverged(f"{what} became NaN/inf")


@dataclass(eq=False)
class GanStep:
    """The generator G and discriminator D (None for L1-only methods), raw and wrapped
    (DDP, torch.compile), with their optimizers, schedulers, GradScaler and EMA."""

    cfg: ExperimentConfig
    device: torch.device
    dist: D.DistInfo
    g_raw: nn.Module
    d_raw: nn.Module | None
    g: nn.Module
    d: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None
    sched_g: torch.optim.lr_scheduler.LambdaLR
    sched_d: torch.optim.lr_scheduler.LambdaLR | None
    scaler: torch.amp.GradScaler
    ema: Any = None
    batches_per_epoch: int = 1  # for the adversarial warm-up and ramp, in epochs
    encoder_init: str | None = None  # where the pretrained encoder's weights came from
    # The error a NaN/inf raises (the trainer's says where and what was kept).
    diverged: Callable[[str], Exception] = _diverged

    @classmethod
    def build(
        cls, cfg: ExperimentConfig, device: torch.device, dist: D.DistInfo | None = None
    ) -> GanStep:
        dist = dist or D.DistInfo()
        if cfg.loss.ciede_weight > 0 and cfg.color_space != "lab":
            raise UserError("loss.ciede_weight needs color_space: lab (CIEDE2000 is on Lab chroma)")
        check_heads(cfg)
        if cfg.train.freeze_encoder_epochs > 0 and dist.enabled:
            raise UserError(
                "train.freeze_encoder_epochs needs one process (DDP fixes the set of trained "
                "parameters when it starts)"
            )
        g = build_generator(cfg)
        encoder_init = init_encoders(g, cfg)
        g = g.to(device)
        if cfg.loss.bins_weight > 0 and not isinstance(getattr(g, "head", None), ChromaBins):
            raise UserError("loss.bins_weight needs generator.head: bins (the joint stream's)")
        d = build_discriminator(cfg)
        d = d.to(device) if d is not None else None
        if device.type == "cuda" and cfg.train.channels_last:
            g = g.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            d = d.to(memory_format=torch.channels_last) if d is not None else None  # type: ignore[call-overload]
        g_raw, d_raw = g, d
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        opt_g = torch.optim.Adam(g.parameters(), lr=cfg.optim.lr, betas=betas)
        opt_d = (
            torch.optim.Adam(d.parameters(), lr=cfg.optim.lr * cfg.optim.d_lr_ratio, betas=betas)
            if d is not None
            else None
        )
        factor = lr_lambda(cfg.optim.lr_decay, cfg.train.epochs)
        sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, factor)
        sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, factor) if opt_d else None
        scaler = torch.amp.GradScaler(
            "cuda", enabled=device.type == "cuda" and cfg.train.amp == "fp16"
        )
        if dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            g = DistributedDataParallel(g, device_ids=ids)
            d = DistributedDataParallel(d, device_ids=ids) if d is not None else None
        if cfg.train.compile:
            g = torch.compile(g)  # type: ignore[assignment]  # an OptimizedModule
        ema = make_ema(g_raw, cfg.train.ema_decay) if cfg.train.ema_decay else None
        step = cls(
            cfg, device, dist, g_raw, d_raw, g, d, opt_g, opt_d, sched_g, sched_d, scaler, ema
        )
        step.encoder_init = encoder_init
        return step

    @property
    def multiscale(self) -> bool:
        return is_multiscale_d(self.cfg)

    # ------------------------------------------------------------- precision
    @property
    def amp_dtype(self) -> torch.dtype | None:
        if self.device.type != "cuda" or self.cfg.train.amp == "off":
            return None
        return torch.bfloat16 if self.cfg.train.amp == "bf16" else torch.float16

    def autocast(self):
        dtype = self.amp_dtype
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    # ------------------------------------------------------------------ step
    def train_mode(self) -> None:
        self.g.train()
        if self.d is not None:
            self.d.train()

    def adv_factor(self, global_step: int) -> float:
        """The share of `gan_weight` in force at this step: 0 during the L1 warm-up,
        then a linear ramp to 1 (loss.adv_warmup_epochs, loss.adv_ramp_epochs)."""
        loss = self.cfg.loss
        epoch = global_step / max(self.batches_per_epoch, 1)
        if epoch < loss.adv_warmup_epochs:
            return 0.0
        if loss.adv_ramp_epochs <= 0:
            return 1.0
        return min(1.0, (epoch - loss.adv_warmup_epochs) / loss.adv_ramp_epochs)

    def encoders_frozen(self, global_step: int) -> bool:
        epoch = global_step / max(self.batches_per_epoch, 1)
        return epoch < self.cfg.train.freeze_encoder_epochs

    def generate(self, lum: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """The image(s), and the scene-class logits when the class term is on."""
        if self.multiscale:
            return self.g(lum, multiscale=True), None
        if self.cfg.loss.class_weight > 0:
            image, logits = self.g(lum, with_classes=True)
            return [image], logits
        return [self.g(lum)], None

    def __call__(
        self,
        lum: torch.Tensor,
        target: torch.Tensor,
        global_step: int,
        labels: torch.Tensor | None = None,
    ) -> dict:
        """One step on a batch (`labels`: class indices, for loss.class_weight); the losses
        as floats (l1, g_loss, the other terms in force and d_loss when computed)."""
        cfg = self.cfg
        freeze_encoders(self.g_raw, self.encoders_frozen(global_step))
        with self.autocast():
            fakes, logits = self.generate(lum)
        adv_weight = (
            cfg.loss.gan_weight * self.adv_factor(global_step) if self.d is not None else 0.0
        )
        d_loss = None
        if adv_weight > 0 and global_step % cfg.optim.g_steps_per_d == 0:
            d_loss = self.step_d(lum, target, fakes)
        set_requires_grad(self.d, False)
        with self.autocast():
            terms = self.generator_terms(Generated(lum, target, fakes, logits, labels), adv_weight)
            g_loss = total_loss(terms)
        self.check_finite(g_loss, d_loss)
        self.step_g(g_loss)
        return loss_logs(terms, g_loss, d_loss)

    def generator_terms(self, batch: Generated, adv_weight: float) -> list[LossTerm]:
        """The generator's loss terms in force, in the order they are summed and logged;
        each term's method gives None when it is off (l1 is always on: it is logged)."""
        loss = self.cfg.loss
        candidates: list[tuple[str, float, TermFn]] = [
            ("l1", loss.l1_weight, self.l1_term),
            ("ciede", loss.ciede_weight, self.ciede_term),
            ("bins", loss.bins_weight, self.bins_term),
            ("class", loss.class_weight, self.class_term),
            ("adv", adv_weight, self.adv_term),
        ]
        computed = ((name, weight, term(batch, weight)) for name, weight, term in candidates)
        return [LossTerm(n, w, value) for n, w, value in computed if value is not None]

    def l1_term(self, batch: Generated, weight: float) -> torch.Tensor:
        return l1_loss(batch.fakes, batch.target, self.cfg.loss.chroma_weight)

    def ciede_term(self, batch: Generated, weight: float) -> torch.Tensor | None:
        if weight <= 0:
            return None
        return ciede_loss(batch.fakes, batch.target, AB_SCALE, self.cfg.loss.chroma_weight)

    def bins_term(self, batch: Generated, weight: float) -> torch.Tensor | None:
        """The 'bins' head's cross-entropy on this step's scores (None when off)."""
        head = getattr(unwrap(self.g), "head", None)
        if not isinstance(head, ChromaBins):
            return None
        scores, head.scores = head.scores, None  # the module holds no graph past the step
        if weight <= 0 or scores is None:
            return None
        return bins_loss(scores, batch.target, head, self.cfg.loss.chroma_weight)

    def class_term(self, batch: Generated, weight: float) -> torch.Tensor | None:
        """The scene-class head's cross-entropy (its logits come with loss.class_weight)."""
        if batch.logits is None:
            return None
        if batch.labels is None:
            raise UserError("loss.class_weight needs each image's class (its folder)")
        return F.cross_entropy(batch.logits.float(), batch.labels)

    def adv_term(self, batch: Generated, weight: float) -> torch.Tensor | None:
        if weight <= 0:
            return None
        assert self.d is not None
        fakes = batch.fakes if self.multiscale else batch.fakes[0]
        return gan_loss(self.d(batch.lum, fakes), True)

    def step_d(
        self, lum: torch.Tensor, target: torch.Tensor, fakes: list[torch.Tensor]
    ) -> torch.Tensor:
        """The discriminator's update on real and (detached) generated pairs."""
        assert self.d is not None and self.opt_d is not None
        set_requires_grad(self.d, True)
        reals = pyramid(target, len(fakes)) if self.multiscale else [target]
        with self.autocast():
            real_in = reals if self.multiscale else reals[0]
            fake_in = [f.detach() for f in fakes] if self.multiscale else fakes[0].detach()
            d_loss = 0.5 * (
                gan_loss(self.d(lum, real_in), True, self.cfg.loss.label_smoothing)
                + gan_loss(self.d(lum, fake_in), False)
            )
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.opt_d)
        return d_loss

    def step_g(self, g_loss: torch.Tensor) -> None:
        """The generator's update (gradient clipping, the scaler), then the EMA."""
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_loss).backward()
        if self.cfg.optim.grad_clip:
            self.scaler.unscale_(self.opt_g)
            nn.utils.clip_grad_norm_(self.g.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update_parameters(self.g_raw)

    # ------------------------------------------------------------- NaN guard
    def check_finite(self, g_loss: torch.Tensor, d_loss: torch.Tensor | None) -> None:
        """Stop every rank together, before the generator's step, when a loss on any rank
        is NaN/inf. Nothing is saved after this, so last.pt stays the last good state."""
        losses = [g_loss.detach()] + ([d_loss.detach()] if d_loss is not None else [])
        if D.any_true(self.dist, not all_finite(losses), self.device):
            raise self.diverged("the loss")

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

    # --------------------------------------------------------------- weights
    def eval_generator(self) -> nn.Module:
        """The weights that are validated and saved as best.pt: the EMA when kept."""
        return self.ema.module if self.ema is not None else unwrap(self.g)

    def init_from(self, path: Path) -> str:
        """Fine-tuning: the generator (and a matching discriminator) from the model file
        at `path`; says which were loaded."""
        ckpt = load_checkpoint(path, map_location="cpu")
        state = float_state(ckpt["generator"])
        try:
            self.g_raw.load_state_dict(state)
        except RuntimeError:
            if not load_regression_generator(self.g_raw, state):
                raise UserError(
                    f"train.init_from: {path} holds a different generator than this config's"
                ) from None
        d_state = ckpt.get("discriminator")
        if self.d_raw is not None and d_state is not None:
            try:
                self.d_raw.load_state_dict(d_state)
                return "generator and discriminator"
            except RuntimeError:
                pass
        # The EMA needs no reset: its first update copies the generator as it is then.
        return "generator"

    def schedulers_step(self) -> None:
        self.sched_g.step()
        if self.sched_d:
            self.sched_d.step()

    def state_dict(self) -> dict[str, Any]:
        """last.pt's keys for the networks, optimizers, schedulers, scaler and EMA."""
        return {
            "generator": self.g_raw.state_dict(),
            "discriminator": self.d_raw.state_dict() if self.d_raw is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d else None,
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict() if self.sched_d else None,
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
        }

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        """Restore `state_dict()`; a UserError-worthy RuntimeError is left to the caller."""
        self.g_raw.load_state_dict(ckpt["generator"])
        if self.d_raw is not None and ckpt.get("discriminator") is not None:
            self.d_raw.load_state_dict(ckpt["discriminator"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        if self.opt_d and ckpt.get("opt_d"):
            self.opt_d.load_state_dict(ckpt["opt_d"])
        self.sched_g.load_state_dict(ckpt["sched_g"])
        if self.sched_d and ckpt.get("sched_d"):
            self.sched_d.load_state_dict(ckpt["sched_d"])
        self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
