"""A long run's learning curve from its history.csv: validation CIEDE2000, colourfulness
(% of the truth's) and chroma correlation per epoch, as a figure and a markdown table.

    python scripts/learning_curve.py RUN --out docs/figures/encoder-learning-curve.png \\
        --table docs/results/encoder-long/curve.md

Epochs validated before the chroma correlation was recorded show it as "-".
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rscolor.utils.io import atomic_write_text  # noqa: E402

COLUMNS = (
    ("val_ciede2000", "val CIEDE2000 (lower is better)"),
    ("colour_pct", "val colourfulness, % of the truth's"),
    ("val_chroma_corr", "val chroma correlation"),
)


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv's rows as numbers, with colourfulness as % of the truth's."""
    rows = []
    with open(path, newline="") as f:
        for raw in csv.DictReader(f):
            row = {k: float(v) if v not in ("", None) else math.nan for k, v in raw.items()}
            truth = row.get("val_colorfulness_gt", math.nan)
            row["colour_pct"] = 100 * row.get("val_colorfulness", math.nan) / truth
            row.setdefault("val_chroma_corr", math.nan)
            rows.append(row)
    return rows


def plot(rows: list[dict[str, float]], out: Path) -> None:
    fig, axes = plt.subplots(1, len(COLUMNS), figsize=(4 * len(COLUMNS), 3.2))
    epochs = [int(r["epoch"]) for r in rows]
    for ax, (key, title) in zip(axes, COLUMNS, strict=True):
        ax.plot(epochs, [r[key] for r in rows], marker="o", markersize=3)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out)


def cell(value: float, digits: int) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| epoch | val CIEDE2000 | colourfulness % | chroma corr. | train images/s |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            str(int(r["epoch"])),
            cell(r["val_ciede2000"], 3),
            cell(r["colour_pct"], 1),
            cell(r["val_chroma_corr"], 3),
            cell(r.get("train_images_per_s", math.nan), 1),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="The figure (PNG).")
    parser.add_argument("--table", type=Path, default=None, help="Also a markdown table.")
    args = parser.parse_args()
    history = args.run / "history.csv"
    if not history.is_file():
        raise SystemExit(f"learning_curve: no {history}")
    rows = read_history(history)
    plot(rows, args.out)
    text = table(rows)
    if args.table is not None:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.table, text)
    print(text, end="")


if __name__ == "__main__":
    main()
