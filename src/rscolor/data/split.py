"""The deterministic per-class train / test / val split, kept as a JSON manifest.

Every method compared on a data set reads the same manifest, so all are trained and
scored on the same images. The split shuffles each class folder with a fixed seed and cuts
it by the ratios (paper: 3:1:1), so adding a class does not move another class's images.

A manifest records the data it was made from (how many images, and a digest of their
relative paths): one that no longer describes the data folder is remade where nothing
depends on it yet, and refused where something does (see `load_or_make_split`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from rscolor.data.images import find_images
from rscolor.errors import UserError
from rscolor.utils.io import atomic_write_text

SPLITS = ("train", "test", "val")


@dataclass
class Split:
    root: str
    train: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    ratios: tuple[int, int, int] = (3, 1, 1)
    seed: int = 0
    data_images: int | None = None  # the data it was made from (None: an older manifest)
    data_digest: str | None = None

    def files(self, name: str) -> list[str]:
        if name == "all":
            return sorted(self.train + self.test + self.val)
        if name not in SPLITS:
            raise UserError(f"unknown split {name!r}: use train, test, val or all")
        return list(getattr(self, name))

    def describes(self, root: str | Path) -> bool:
        """Whether this split was made from the images now under `root` (older manifests,
        without a record: whether every image they list is there)."""
        if self.data_digest is None:
            return all((Path(root) / f).is_file() for f in self.files("all"))
        return data_fingerprint(relative_images(root)) == (self.data_images, self.data_digest)

    def classes(self) -> list[str]:
        return sorted({class_of(f) for f in self.train + self.test + self.val})

    def to_json(self) -> str:
        body = {
            "root": self.root,
            "ratios": list(self.ratios),
            "seed": self.seed,
            "counts": {s: len(getattr(self, s)) for s in SPLITS},
            "data": {"images": self.data_images, "sha256": self.data_digest},
            **{s: getattr(self, s) for s in SPLITS},
        }
        return json.dumps(body, indent=1)

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Split:
        try:
            raw = json.loads(Path(path).read_text())
            if not isinstance(raw, dict):
                raise ValueError("expected a JSON object with train, test and val lists")
            split = cls(
                root=raw["root"],
                train=raw["train"],
                test=raw["test"],
                val=raw["val"],
                ratios=tuple(raw["ratios"]),
                seed=raw["seed"],
                data_images=(raw.get("data") or {}).get("images"),
                data_digest=(raw.get("data") or {}).get("sha256"),
            )
            split.check()
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UserError(f"cannot read split manifest {path}: {exc}") from None
        return split

    def check(self) -> None:
        """ValueError unless each split is a list of path strings and no image is in two
        (a test image seen in training leaks its score)."""
        seen: dict[str, str] = {}
        for name in SPLITS:
            files = getattr(self, name)
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                raise ValueError(f"{name}: expected a list of image paths")
            for rel in files:
                key = os.path.normpath(rel)
                if key in seen:
                    raise ValueError(f"{rel} is in both {seen[key]} and {name}")
                seen[key] = name


def class_of(rel_path: str) -> str:
    """The class of an image is its top folder ('' for images at the root)."""
    parts = Path(rel_path).parts
    return parts[0] if len(parts) > 1 else ""


def cut_counts(n: int, ratios: tuple[int, int, int]) -> tuple[int, int, int]:
    """Sizes of train / test / val for a class of n images (largest remainder rounding)."""
    total = sum(ratios)
    exact = [n * r / total for r in ratios]
    counts = [int(x) for x in exact]
    order = sorted(range(3), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts[0], counts[1], counts[2]


def relative_images(root: str | Path) -> list[str]:
    """Every image under `root`, as sorted POSIX paths relative to it."""
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in find_images(root))


def data_fingerprint(files: list[str]) -> tuple[int, str]:
    """(count, sha256 of the sorted relative paths): which images a split was made from."""
    digest = hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()
    return len(files), digest


def make_split(root: str | Path, ratios: tuple[int, int, int] = (3, 1, 1), seed: int = 0) -> Split:
    root = Path(root)
    images = relative_images(root)
    if not images:
        raise UserError(f"no images (jpg, png, tif) found under {root}")
    by_class: dict[str, list[str]] = {}
    for rel in images:
        by_class.setdefault(class_of(rel), []).append(rel)
    count, digest = data_fingerprint(images)
    split = Split(root=str(root), ratios=ratios, seed=seed, data_images=count, data_digest=digest)
    for name in sorted(by_class):
        files = sorted(by_class[name])
        random.Random(f"{seed}:{name}").shuffle(files)
        n_train, n_test, _ = cut_counts(len(files), ratios)
        split.train += sorted(files[:n_train])
        split.test += sorted(files[n_train : n_train + n_test])
        split.val += sorted(files[n_train + n_test :])
    return split


def load_or_make_split(
    root: str | Path,
    manifest: str | Path,
    ratios: tuple[int, int, int],
    seed: int,
    remake: bool = False,
) -> Split:
    """Reuse `manifest` if it exists and was made from the images under `root`; else make
    the split and write it. A manifest made from other data is remade when `remake` (no
    run depends on it yet), else refused."""
    manifest = Path(manifest)
    if manifest.is_file():
        split = Split.load(manifest)
        if split.describes(root):
            return split
        if not remake:
            raise UserError(
                f"{manifest} was made from other data than {root} (images added, removed "
                "or renamed): use a new run folder, or delete it to make a new split"
            )
    split = make_split(root, ratios, seed)
    split.save(manifest)
    return split


def split_for(checkpoint: Path, data: Path, ratios: tuple[int, int, int], seed: int) -> Split:
    """The manifest beside the checkpoint when it describes `data`, else the same
    deterministic split made afresh from `data`."""
    manifest = checkpoint.parent / "split.json"
    if manifest.is_file():
        split = Split.load(manifest)
        if split.train and split.describes(data):
            return split
    return make_split(data, ratios, seed)
