"""Shared fixtures (the helpers they use, and tests import, are in tests/helpers.py) and the
slow marker."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rscolor.training.trainer import Trainer

from .helpers import make_scene_tree, tiny_config


@pytest.fixture
def scene_tree(tmp_path: Path) -> Path:
    return make_scene_tree(tmp_path / "scenes")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(data folder, best.pt) of a tiny model trained for 2 steps."""
    root = tmp_path_factory.mktemp("cli")
    data = make_scene_tree(root / "scenes")
    cfg = tiny_config(train__epochs=1)
    Trainer(cfg, root / "run", data, progress=False).fit()
    return data, root / "run" / "best.pt"


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _allocator_untouched(monkeypatch):
    """`rscolor train` run in-process leaves this process's malloc settings as they are
    (tests/test_allocator.py checks the real call in a process of its own)."""
    monkeypatch.setattr("rscolor.cli.train_cmd.keep_freed_memory", lambda: False)


# Modules whose tests start processes (torchrun, the console script, qgis_process, a
# browser, a study server), train several runs, export ONNX or fuzz: `make test-fast`
# (-m "not slow") leaves them out; `make test` runs everything.
SLOW_MODULES = {
    "test_benchmark",
    "test_checked_writes",
    "test_cli_script",
    "test_distributed",
    "test_fuzz",
    "test_inputs_safe",
    "test_lcfe_memory",
    "test_model_files",
    "test_model_info",
    "test_one_writer",
    "test_onnx",
    "test_qgis_plugin",
    "test_saturation",
    "test_study_browser",
    "test_study_server",
}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
