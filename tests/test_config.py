from pathlib import Path

import pytest

from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig, load_config

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
