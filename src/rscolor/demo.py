"""The side-by-side figure of `make demo`: gray input | colorized | ground truth.

python -m rscolor.demo SAMPLES_DIR COLORIZED_DIR FIGURE.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rscolor.color import rgb_luminance_gray
from rscolor.data.images import find_images, read_rgb
from rscolor.errors import UserError
from rscolor.utils.io import atomic_path

COLUMNS = ("gray input", "rscolor", "ground truth")


def image_grid(
    rows: list[tuple[str, list[np.ndarray]]], columns: tuple[str, ...], path: Path
) -> None:
    """A figure with one row per image: (row title, one image per column, gray or RGB)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_cols = len(columns)
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(2.5 * n_cols, 2.5 * len(rows)), squeeze=False
    )
    for row_axes, (title, images) in zip(axes, rows, strict=True):
        for ax, img, label in zip(row_axes, images, columns, strict=True):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(label, fontsize=9)
        row_axes[0].set_ylabel(title, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=110)
    plt.close(fig)


def side_by_side(pairs: list[tuple[str, np.ndarray, np.ndarray]], path: Path) -> None:
    """One row per image: (title, colorized RGB, ground-truth RGB)."""
    rows = [(title, [rgb_luminance_gray(truth), out, truth]) for title, out, truth in pairs]
    image_grid(rows, COLUMNS, path)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        sys.exit("usage: python -m rscolor.demo SAMPLES_DIR COLORIZED_DIR FIGURE.png")
    samples, colorized, figure = map(Path, args)
    try:
        pairs = []
        for src in find_images(samples):
            out = colorized / src.relative_to(samples).with_suffix(".png")
            pairs.append((src.stem, read_rgb(out), read_rgb(src)))
        if not pairs:
            raise UserError(f"no images in {samples}")
        side_by_side(pairs, figure)
    except UserError as exc:
        sys.exit(f"rscolor: error: {exc}")


if __name__ == "__main__":
    main()
