"""Issue 23, item 1: folder scans follow links but visit each real folder once (no hang on
a self-link, no copies through `up -> ..`), and a split manifest refuses an image that is
in two splits."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PIL import Image

from rscolor.data.images import find_images
from rscolor.data.split import Split, make_split
from rscolor.errors import UserError


def _tree(root: Path, n: int = 5) -> Path:
    beach = root / "beach"
    beach.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (8, 8), (i * 40, 90, 60)).save(beach / f"{i}.png")
    return root


def _scan_with_timeout(root: Path, seconds: float = 20) -> list[Path]:
    found: list[list[Path]] = []
    worker = threading.Thread(target=lambda: found.append(find_images(root)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert found, f"find_images({root}) did not finish in {seconds} s (a link loop)"
    return found[0]


def test_two_self_links_do_not_hang_the_scan(tmp_path: Path) -> None:
    root = _tree(tmp_path / "data")
    (root / "beach" / "a").symlink_to(".")
    (root / "beach" / "b").symlink_to(".")
    assert len(_scan_with_timeout(root)) == 5


def test_a_link_back_up_lists_each_image_once(tmp_path: Path) -> None:
    root = _tree(tmp_path / "data")
    (root / "beach" / "up").symlink_to("..")
    files = _scan_with_timeout(root)
    assert [p.name for p in files] == [f"{i}.png" for i in range(5)]
    split = make_split(root, (3, 1, 1))
    assert not set(split.train) & set(split.test + split.val)


def test_a_linked_class_folder_is_still_followed(tmp_path: Path) -> None:
    data = _tree(tmp_path / "real")
    combined = tmp_path / "combined"
    combined.mkdir()
    (combined / "beach").symlink_to(data / "beach")
    assert len(find_images(combined)) == 5


def test_a_manifest_with_an_image_in_two_splits_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "split.json"
    body = {"root": "d", "ratios": [3, 1, 1], "seed": 0, "train": ["a/1.png", "a/2.png"],
            "test": ["a/./1.png"], "val": []}  # fmt: skip
    manifest.write_text(json.dumps(body))
    with pytest.raises(UserError, match="in both train and test"):
        Split.load(manifest)


@pytest.mark.parametrize("body", [[], ["a.png"], {"root": "d", "train": "a.png"}, 5])
def test_a_manifest_of_the_wrong_shape_is_a_user_error(tmp_path: Path, body: object) -> None:
    manifest = tmp_path / "split.json"
    manifest.write_text(json.dumps(body))
    with pytest.raises(UserError, match="cannot read split manifest"):
        Split.load(manifest)
