"""The generator's pretrained encoders in training: their ImageNet start and the frozen
warm-up (generator.encoder_pretrained, train.freeze_encoder_epochs)."""

from __future__ import annotations

from torch import nn

from rscolor.experiment import ExperimentConfig
from rscolor.models.efficientnet_lite import load_pretrained, pretrained_source


def encoders_of(g: nn.Module) -> list[nn.Module]:
    """A generator's pretrained encoders (none for the paper's networks)."""
    return list(getattr(g, "encoders", list)())


def init_encoders(g: nn.Module, cfg: ExperimentConfig) -> str | None:
    """Load the ImageNet weights into a fresh generator's encoders; the weights'
    description, or None when nothing is pretrained. A resumed or fine-tuned run loads
    its own weights over these afterwards."""
    encoders = encoders_of(g)
    if not encoders or not getattr(cfg.generator, "encoder_pretrained", True):
        return None
    source = pretrained_source()
    return [load_pretrained(e, source) for e in encoders][0]  # type: ignore[arg-type]


def freeze_encoders(g: nn.Module, frozen: bool) -> None:
    """Frozen: no gradients, and BatchNorm in eval mode so the ImageNet statistics stay."""
    for encoder in encoders_of(g):
        for p in encoder.parameters():
            p.requires_grad_(not frozen)
        encoder.train(not frozen and g.training)
