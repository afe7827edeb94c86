import pytest
import torch

from rscolor.models import build_discriminator, build_generator
from rscolor.models.gsm import GatedSelection
from rscolor.models.lcfe import LCFE, pooled_grid
from rscolor.models.unet import UNet

from .helpers import tiny_config


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


@pytest.mark.parametrize(
    "gen,disc,space",
    [
        ("joint_stream", "dcgan", "lab"),
        ("unet", "patchgan", "lab"),
        ("multiscale_g", "dcgan", "yuv"),
        ("unet", "multiscale_d", "rgb"),
    ],
)
def test_generator_and_discriminator_shapes_and_gradients(gen: str, disc: str, space: str) -> None:
    side = 2 if disc == "multiscale_d" else 0
    cfg = tiny_config(
        color_space=space,
        generator__name=gen,
        generator__side_outputs=side,
        discriminator__name=disc,
        discriminator__scales=3,
    )
    g, d = build_generator(cfg), build_discriminator(cfg)
    channels = 3 if space == "rgb" else 2
    x = torch.randn(2, 1, 32, 32)
    if disc == "multiscale_d":
        outs = g(x, multiscale=True)
        assert [o.shape[-1] for o in outs] == [8, 16, 32]
        logits = d(x, outs)
    else:
        outs = [g(x)]
        logits = d(x, outs[0])
    assert outs[-1].shape == (2, channels, 32, 32)
    sum(logit.mean() for logit in logits).backward()
    assert_all_params_get_grads(g)
    assert_all_params_get_grads(d)


def test_joint_stream_runs_on_sizes_other_than_training() -> None:
    g = build_generator(tiny_config()).eval()
    assert g.size_multiple == 16
    with torch.no_grad():
        assert g(torch.randn(1, 1, 48, 80)).shape == (1, 2, 48, 80)
