"""Issue 23, item 10: a damaged run folder on --resume (best.pt copied over last.pt,
split.json a list, train.log a folder) is one line, not a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from .helpers import assert_user_error, make_scene_tree, run_cli
from .test_one_writer import TINY_YAML


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(config, data, run folder) of a finished one-epoch tiny run."""
    from rscolor.cli.main import main

    root = tmp_path_factory.mktemp("resume")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_YAML))
    data = make_scene_tree(root / "data", per_class=4, size=32)
    main(["train", "-c", str(config), "--data", str(data), "--out", str(root / "run"), "--quiet"])
    return config, data, root / "run"


def _damaged(finished, tmp_path: Path) -> tuple[list, Path]:
    config, data, run = finished
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return ["train", "-c", config, "--data", data, "--out", copy, "--resume", "--quiet"], copy


def test_best_pt_copied_over_last_pt(finished, tmp_path, capsys) -> None:
    args, run = _damaged(finished, tmp_path)
    shutil.copyfile(run / "best.pt", run / "last.pt")
    code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, "last.pt is not a training state (opt_g is missing)")


def test_a_split_manifest_that_is_a_list(finished, tmp_path, capsys) -> None:
    args, run = _damaged(finished, tmp_path)
    (run / "split.json").write_text(json.dumps(["beach/beach_000.png"]))
    code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, "cannot read split manifest")
    given = tmp_path / "list.json"
    given.write_text("[]")
    config, data, _ = finished
    new = ["train", "-c", config, "--data", data, "--out", tmp_path / "new",
           "--split-manifest", given, "--quiet"]  # fmt: skip
    code, _, err = run_cli(new, capsys)
    assert_user_error(code, err, "cannot read split manifest")


def test_train_log_that_is_a_folder(finished, tmp_path, capsys) -> None:
    args, run = _damaged(finished, tmp_path)
    (run / "train.log").unlink()
    (run / "train.log").mkdir()
    code, _, err = run_cli(args, capsys)
    assert_user_error(code, err, "train.log: Is a directory")
