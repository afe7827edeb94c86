from pathlib import Path

import pytest
import yaml

from rscolor.errors import UserError
from rscolor.experiment import (
    ExperimentConfig,
    config_from_dict,
    load_config,
    recorded_config,
    upgraded,
)
from rscolor.models.joint_stream import JointStreamOptions
from rscolor.models.multiscale_generator import MultiScaleOptions
from rscolor.models.unet import UNetOptions
from rscolor.utils.dotted import flatten

CONFIGS = sorted(Path(__file__).resolve().parents[1].joinpath("configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_loads(path: Path) -> None:
    cfg = load_config(path)
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.method


def test_unknown_field_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("generator:\n  ngff: 3\n")
    with pytest.raises(UserError, match="generator.ngff"):
        load_config(bad)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_paper_config_has_the_papers_settings() -> None:
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "jsdcgan-paper.yaml")
    assert cfg.train.batch_size == 8 and cfg.train.epochs == 30
    assert cfg.loss.l1_weight == 100 and cfg.data.crop_size == 256
    assert (
        cfg.generator.depth == 8
        and cfg.generator.low_level == "lcfe"
        and cfg.generator.fusion == "gsm"
    )


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_keeps_its_shape(path: Path) -> None:
    """Each field a config file sets is in the loaded config, with its value: the networks'
    sections name only options of the network they name."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    loaded = flatten(load_config(path).to_dict())
    for key, value in flatten(raw).items():
        assert key in loaded, key
        assert loaded[key] == (list(value) if isinstance(value, tuple) else value), key


def test_an_option_of_another_network_names_its_owner() -> None:
    with pytest.raises(UserError, match="generator.lcfe_dk: an option of generator joint_stream"):
        config_from_dict({"generator": {"name": "unet", "lcfe_dk": 8}})
    with pytest.raises(UserError, match="discriminator.ndf: an option of discriminator"):
        config_from_dict({"discriminator": {"name": None, "ndf": 8}})
    with pytest.raises(UserError, match="generator.name: unknown generator 'unet3'; known: "):
        config_from_dict({"generator": {"name": "unet3"}})
    cfg = config_from_dict({"generator": {"name": "unet", "lcfe_dk": 8}}, drop_others=True)
    assert cfg.to_dict()["generator"] == UNetOptions().model_dump(mode="json")


def test_a_recorded_config_of_every_option_reads_as_the_named_networks() -> None:
    """Earlier versions recorded every network's options in each run and model file."""
    flat = {}
    for options in (JointStreamOptions(), UNetOptions(), MultiScaleOptions()):
        flat |= options.model_dump(mode="json")
    recorded = {
        "generator": {**flat, "name": "unet", "side_outputs": 2, "ngf": 32},
        "discriminator": {"name": None, "ndf": 64, "n_layers": 4, "scales": 3},
    }
    now = upgraded(recorded)
    assert now["generator"] == {**UNetOptions(side_outputs=2, ngf=32).model_dump(mode="json")}
    assert now["discriminator"] == {"name": None}
    assert recorded_config(recorded).to_dict() == now
