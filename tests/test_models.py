import contextlib
import warnings
from typing import Any, get_args

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rscolor.color import get_color_space
from rscolor.experiment import ExperimentConfig, config_from_dict
from rscolor.inference.colorizer import Colorizer
from rscolor.inference.onnx_backend import OPSET, TOLERANCE, export_onnx
from rscolor.models import build_discriminator, build_generator
from rscolor.models.discriminators import MultiScaleDiscriminatorOptions, pyramid
from rscolor.models.gsm import GatedSelection
from rscolor.models.lcfe import LCFE, pooled_grid
from rscolor.models.options import DiscriminatorOptions
from rscolor.models.registry import (
    DISCRIMINATORS,
    GENERATORS,
    Generator,
    discriminator_options,
)
from rscolor.models.unet import UNet

from .helpers import TINY_NETWORKS, tiny_config


def assert_all_params_get_grads(module: torch.nn.Module) -> None:
    missing = [
        n
        for n, p in module.named_parameters()
        if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert not missing, f"no gradient for {missing[:5]}"


def test_unet_shapes_and_bottleneck() -> None:
    net = UNet(1, 2, depth=5, ngf=4)
    x = torch.randn(2, 1, 32, 32, requires_grad=True)
    out, feats = net.forward_features(x)
    assert out.shape == (2, 2, 32, 32)
    assert feats.encoder[-1].shape[-2:] == (1, 1)  # 1x1 bottleneck at 2**depth
    assert out.abs().max() <= 1
    out.sum().backward()
    assert_all_params_get_grads(net)


def test_lcfe_is_eq1_when_small_and_pools_when_large() -> None:
    lcfe = LCFE(8, dk=4, max_tokens=64)
    small = torch.randn(1, 8, 8, 8, requires_grad=True)
    out = lcfe(small)
    assert out.shape == small.shape
    out.square().mean().backward()
    assert_all_params_get_grads(lcfe)
    # Eq. 1 by hand on the small input (no pooling): F_i + softmax(QK^T/sqrt(dk)) F_s
    with torch.no_grad():
        f = small.detach()
        q = lcfe.query(f).flatten(2).transpose(1, 2)
        k = lcfe.key(f).flatten(2)
        attn = torch.softmax(q @ k / 2.0, -1)
        v = lcfe.spatial(f).flatten(2).transpose(1, 2)
        expected = f + (attn @ v).transpose(1, 2).reshape(f.shape)
        torch.testing.assert_close(lcfe(f), expected, rtol=1e-4, atol=1e-5)
    assert pooled_grid(64, 64, 1024) == (32, 32)
    assert pooled_grid(8, 8, 1024) == (8, 8)
    large = torch.randn(1, 8, 40, 40)
    assert lcfe(large).shape == large.shape


def test_lcfe_chunked_queries_match_unchunked() -> None:
    lcfe = LCFE(4, dk=4, max_tokens=16, query_chunk=7)
    x = torch.randn(2, 4, 12, 12)
    chunked = lcfe(x)
    lcfe.query_chunk = 10_000
    torch.testing.assert_close(chunked, lcfe(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("gate", ["sigmoid", "softmax"])
def test_gsm_equation_2(gate: str) -> None:
    gsm = GatedSelection(3, gate)
    xi, xa = (
        torch.randn(2, 3, 5, 5, requires_grad=True),
        torch.randn(2, 3, 5, 5, requires_grad=True),
    )
    out = gsm(xi, xa)
    gi, ga = gsm.gates(xi, xa)
    assert gi.shape == (2, 1, 5, 5)
    torch.testing.assert_close(out, (1 + gi) * xi + (1 - gi) * ga * xa)
    if gate == "softmax":
        torch.testing.assert_close(gi + ga, torch.ones_like(gi))
    out.sum().backward()
    assert_all_params_get_grads(gsm)


def test_multiscale_d_judges_the_unets_side_outputs() -> None:
    cfg = tiny_config(
        color_space="rgb",
        generator__name="unet",
        generator__side_outputs=2,
        discriminator__name="multiscale_d",
        discriminator__scales=3,
    )
    g, d = build_generator(cfg), build_discriminator(cfg)
    assert d is not None
    x = torch.randn(2, 1, 32, 32)
    outs = g(x, multiscale=True)
    assert [tuple(o.shape) for o in outs] == [(2, 3, 8, 8), (2, 3, 16, 16), (2, 3, 32, 32)]
    sum(logit.mean() for logit in d(x, outs)).backward()
    assert_all_params_get_grads(g)
    assert_all_params_get_grads(d)


def test_joint_stream_runs_on_sizes_other_than_training() -> None:
    g = build_generator(tiny_config()).eval()
    assert g.size_multiple == 16
    with torch.no_grad():
        assert g(torch.randn(1, 1, 48, 80)).shape == (1, 2, 48, 80)


# ------------------------------------------- every registered network (the registry)
# A network added to models/registry.py is checked here without a line of its own
# (docs/architecture.md, "Adding a model"): its options load from a config section and
# round-trip, a tiny one trains (forward, backward, every parameter gets a gradient),
# honours its size multiple, and exports to ONNX matching torch under ONNX Runtime.
GENERATOR_NAMES = sorted(GENERATORS)
DISCRIMINATOR_NAMES = sorted(DISCRIMINATORS)


def tiny_generator(name: str, space: str = "lab") -> tuple[ExperimentConfig, torch.nn.Module]:
    cfg = tiny_config(generator__name=name, color_space=space)
    return cfg, build_generator(cfg)


def tiny_discriminator(name: str) -> tuple[DiscriminatorOptions, torch.nn.Module]:
    """A discriminator of the tiny test sizes it has, for a Lab target (1 + 2 channels)."""
    raw = {"name": name, **TINY_NETWORKS["discriminator"]}
    options = discriminator_options(raw, drop_others=True)
    return options, DISCRIMINATORS[name].build(options, 3)


def judged(options: DiscriminatorOptions, color: torch.Tensor) -> Any:
    """What the discriminator judges: the image, or Multi-D's pyramid of it."""
    if isinstance(options, MultiScaleDiscriminatorOptions):
        return pyramid(color, options.scales)
    return color


@pytest.mark.parametrize(
    "section,name",
    [("generator", n) for n in GENERATOR_NAMES]
    + [("discriminator", n) for n in DISCRIMINATOR_NAMES],
)
def test_registered_options_load_by_name_and_round_trip(section: str, name: str) -> None:
    table = GENERATORS if section == "generator" else DISCRIMINATORS
    options = table[name].options
    assert name in get_args(options.model_fields["name"].annotation), "name: Literal[...]"
    cfg = config_from_dict({section: {"name": name}})
    assert type(getattr(cfg, section)) is options
    assert config_from_dict(cfg.to_dict()) == cfg
    assert set(cfg.to_dict()[section]) == set(options.model_fields)


@pytest.mark.parametrize("space", ["lab", "rgb"])
@pytest.mark.parametrize("name", GENERATOR_NAMES)
def test_every_generator_trains(name: str, space: str) -> None:
    cfg, g = tiny_generator(name, space)
    m = g.size_multiple
    x = torch.randn(2, 1, 2 * m, 2 * m, requires_grad=True)
    out = g(x)
    channels = get_color_space(space).target_channels
    assert out.shape == (2, channels, 2 * m, 2 * m)
    assert out.abs().max() <= 1
    out.square().mean().backward()
    assert_all_params_get_grads(g)


@pytest.mark.parametrize("name", GENERATOR_NAMES)
def test_every_generator_honours_its_size_multiple(name: str) -> None:
    _, g = tiny_generator(name)
    assert isinstance(g, Generator)
    m = g.size_multiple
    assert isinstance(m, int) and 1 <= m <= 4096
    with torch.no_grad():
        for h, w in ((m, 3 * m), (3 * m, m), (2 * m, 5 * m)):
            assert g.eval()(torch.randn(1, 1, h, w)).shape == (1, 2, h, w)


@pytest.mark.slow  # the dynamo exporter: tens of seconds each on CPU
@pytest.mark.parametrize("name", GENERATOR_NAMES)
def test_every_generator_exports_to_onnx(name: str, tmp_path) -> None:
    """The product's export (dynamic batch and size; its own parity check at three sizes,
    one of them twice the training size) on a tiny one."""
    torch.manual_seed(0)
    cfg, g = tiny_generator(name)
    colorizer = Colorizer(g, cfg, {"train_size": cfg.data.crop_size, "method": "tiny"})
    assert export_onnx(colorizer, tmp_path / f"{name}.onnx") <= TOLERANCE


@pytest.mark.parametrize("name", DISCRIMINATOR_NAMES)
def test_every_discriminator_trains(name: str) -> None:
    options, d = tiny_discriminator(name)
    gray = torch.randn(2, 1, 32, 32)
    color = torch.randn(2, 2, 32, 32, requires_grad=True)
    logits = d(gray, judged(options, color))
    assert isinstance(logits, list) and logits and all(t.shape[0] == 2 for t in logits)
    sum(t.mean() for t in logits).backward()
    assert_all_params_get_grads(d)
    assert color.grad is not None and torch.isfinite(color.grad).all()


@pytest.mark.slow  # the dynamo exporter: tens of seconds each on CPU
@pytest.mark.parametrize("name", DISCRIMINATOR_NAMES)
def test_every_discriminator_exports_to_onnx(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    options, d = tiny_discriminator(name)
    d.eval()
    gray, color = torch.randn(2, 1, 32, 32), torch.randn(2, 2, 32, 32)
    args = (gray, judged(options, color))
    with torch.no_grad():
        expected = d(*args)
    onnx_path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(None):
        warnings.simplefilter("ignore")
        torch.onnx.export(d, args, str(onnx_path), dynamo=True, opset_version=OPSET)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    flat = [gray, *args[1]] if isinstance(args[1], list) else [gray, color]
    feeds = {i.name: t.numpy() for i, t in zip(session.get_inputs(), flat, strict=True)}
    got = session.run(None, feeds)
    assert len(got) == len(expected)
    for ours, theirs in zip(expected, got, strict=True):
        np.testing.assert_allclose(theirs, ours.numpy(), atol=TOLERANCE, rtol=0)
