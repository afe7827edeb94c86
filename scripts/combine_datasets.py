"""Make one folder-per-class tree out of several, as symbolic links (nothing is copied).

    python scripts/combine_datasets.py data/aid-nwpu data/AID data/NWPU-RESISC45

Training on the result trains on every source's classes together. The split is made per
class folder with a seed and the class name, so each class keeps the train / test / val
images it has in its own data set's split: a model trained on the combined tree is still
scored on the untouched test split of each source.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def combine(out: Path, sources: list[Path]) -> list[str]:
    """Link every class folder of every source into `out`; returns the class names."""
    out.mkdir(parents=True, exist_ok=True)
    names: dict[str, Path] = {}
    for source in sources:
        for folder in sorted(p for p in source.iterdir() if p.is_dir()):
            if folder.name in names and names[folder.name] != folder.resolve():
                raise SystemExit(f"class {folder.name!r} is in two sources; rename one")
            names[folder.name] = folder.resolve()
    for name, target in names.items():
        link = out / name
        if link.is_symlink() or link.exists():
            if link.resolve() != target:
                raise SystemExit(f"{link} exists and points elsewhere")
            continue
        link.symlink_to(target, target_is_directory=True)
    return sorted(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("sources", type=Path, nargs="+")
    args = parser.parse_args()
    classes = combine(args.out, args.sources)
    print(f"{args.out}: {len(classes)} classes from {len(args.sources)} source(s)")


if __name__ == "__main__":
    main()
