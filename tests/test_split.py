import json
from pathlib import Path

import pytest

from rscolor.data.split import Split, class_of, cut_counts, load_or_make_split, make_split
from rscolor.errors import UserError

from .helpers import make_scene_tree


def test_split_is_per_class_3_1_1_and_disjoint(scene_tree: Path) -> None:
    split = make_split(scene_tree)
    assert (len(split.train), len(split.test), len(split.val)) == (18, 6, 6)
    for name in ("forest", "beach", "pond"):
        counts = [
            sum(class_of(f) == name for f in getattr(split, s)) for s in ("train", "test", "val")
        ]
        assert counts == [6, 2, 2]
    assert not set(split.train) & set(split.test)
    assert not set(split.train) & set(split.val)
    assert not set(split.test) & set(split.val)


def test_split_is_deterministic_and_seeded(scene_tree: Path, tmp_path: Path) -> None:
    a, b = make_split(scene_tree), make_split(scene_tree)
    assert a.train == b.train and a.test == b.test
    assert make_split(scene_tree, seed=1).test != a.test
    other = make_scene_tree(tmp_path / "copy")  # same file names elsewhere: same split
    assert make_split(other).test == a.test


def test_adding_a_class_does_not_move_other_classes(scene_tree: Path) -> None:
    before = make_split(scene_tree)
    (scene_tree / "zz_new").mkdir()
    for f in (scene_tree / "pond").iterdir():
        (scene_tree / "zz_new" / f.name).write_bytes(f.read_bytes())
    after = make_split(scene_tree)
    assert [f for f in after.test if not f.startswith("zz_new")] == before.test


def test_manifest_round_trip_and_reuse(scene_tree: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "run" / "split.json"
    manifest.parent.mkdir()
    first = load_or_make_split(scene_tree, manifest, (3, 1, 1), 0)
    body = json.loads(manifest.read_text())
    assert body["counts"] == {"train": 18, "test": 6, "val": 6}
    assert Split.load(manifest).test == first.test


@pytest.mark.parametrize(
    "n,expected", [(5, (3, 1, 1)), (10, (6, 2, 2)), (7, (4, 2, 1)), (1, (1, 0, 0))]
)
def test_cut_counts(n: int, expected: tuple[int, int, int]) -> None:
    assert cut_counts(n, (3, 1, 1)) == expected
    assert sum(cut_counts(n, (3, 1, 1))) == n


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no images"):
        make_split(tmp_path)
    with pytest.raises(UserError, match="not found"):
        make_split(tmp_path / "missing")
