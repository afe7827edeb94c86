import re
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

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "configs"
CONFIGS = sorted(CONFIG_DIR.rglob("*.yaml"))
IDS = [p.relative_to(CONFIG_DIR).as_posix() for p in CONFIGS]

# Every config the repository ships, by folder (configs/README.md says what each is for):
# a file lost in a move, or added without a line here and in that README, fails.
METHOD_KEYS = (
    "unet patchgan dcgan multid multig jsdcgan "
    "ablation-single ablation-joint ablation-concat ablation-lcfe"
).split()
OTHER_CONFIGS = (
    "recipe/cpu.yaml",
    "recipe/gpu.yaml",
    "recipe/unet-cpu.yaml",
    "recipe/patchgan-cpu.yaml",
    "shipped/issue21-encoder-cpu.yaml",
    "shipped/issue11-stage2-finetune-cpu.yaml",
    "shipped/issue11-stage3-chroma-cpu.yaml",
    "shipped/issue11-stage4-ciede-cpu.yaml",
    "shipped/issue11-stage6-bins-cpu.yaml",
    "shipped/issue6-stage2-ema-cpu.yaml",
)


def test_the_configs_folder_holds_every_config_and_only_those() -> None:
    methods = [f"{scale}/{key}.yaml" for scale in ("paper", "cpu") for key in METHOD_KEYS]
    assert len(IDS) == 30
    assert IDS == sorted(methods + list(OTHER_CONFIGS))


def test_the_configs_readme_names_every_config() -> None:
    readme = (CONFIG_DIR / "README.md").read_text(encoding="utf-8")
    for key in METHOD_KEYS:
        assert f"`{key}`" in readme, key
    for name in OTHER_CONFIGS:
        assert f"`{name}`" in readme, name


# Where config paths are shown to a user: the READMEs, docs/*.md (not docs/results/, the
# records of past runs with the commands as they were run), the configs' own comments, the
# scripts and the code. `<...>` and `*` stand for any name, and must match a file. The table
# of old names at the end of configs/README.md is left out.
OLD_NAMES = "The old names"
CITED = re.compile(r"configs/[\w./*<>-]*\.yaml")
CITING = (
    "*.md",
    "*/README.md",
    "docs/*.md",
    "configs/**/*.yaml",
    "scripts/*",
    "benchmarks/*",
    "src/**/*.py",
)


def cited_config_paths() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for pattern in CITING:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file():
                text = path.read_text(encoding="utf-8").split(OLD_NAMES)[0]
                for match in CITED.findall(text):
                    cited.setdefault(match, []).append(path.relative_to(ROOT).as_posix())
    # configs/README.md names its files relative to configs/.
    readme = (CONFIG_DIR / "README.md").read_text(encoding="utf-8").split(OLD_NAMES)[0]
    for match in re.findall(r"`(?!configs/)([\w/<>-]+\.yaml)`", readme):
        cited.setdefault(f"configs/{match}", []).append("configs/README.md")
    return cited


def test_every_config_path_cited_in_the_docs_exists() -> None:
    cited = cited_config_paths()
    assert "configs/shipped/issue21-encoder-cpu.yaml" in cited  # the scan finds paths at all
    missing = {
        path: where
        for path, where in cited.items()
        if not list(ROOT.glob(re.sub(r"<[^>]*>", "*", path)))
    }
    assert not missing, f"config paths that name no file: {missing}"


def test_an_old_flat_config_path_points_to_the_readme(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"configs/README\.md") as info:
        load_config(tmp_path / "configs" / "jsdcgan-cpu.yaml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("path", CONFIGS, ids=IDS)
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
    cfg = load_config(CONFIG_DIR / "paper" / "jsdcgan.yaml")
    assert cfg.train.batch_size == 8 and cfg.train.epochs == 30
    assert cfg.loss.l1_weight == 100 and cfg.data.crop_size == 256
    assert (
        cfg.generator.depth == 8
        and cfg.generator.low_level == "lcfe"
        and cfg.generator.fusion == "gsm"
    )


@pytest.mark.parametrize("path", CONFIGS, ids=IDS)
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
