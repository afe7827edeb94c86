"""The tables of docs/model-card.md from the JSON that scripts/model_card_eval.sh wrote.

    python scripts/model_card_tables.py runs/model-card shipped previous unet patchgan

One table per data set: each model's row, then the `gray` and `mean_chroma` rows (taken
from the first model's file: the references do not depend on the model, except
mean_chroma's training mean colour, which is the first model's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SETS = {
    "aid-test": "AID test split (2,000 images, 150 px)",
    "nwpu-test": "NWPU-RESISC45 test split (280 images, 256 px)",
    "ucm-all": "UC Merced airplanes (97 images, 128 px; never trained on)",
    "siri-all": "SIRI-WHU (599 images, 200 px, about 2 m; never trained on)",
}
COLUMNS = ("ciede2000", "acc2", "acc5", "psnr", "false_color", "colorfulness")


def row(name: str, r: dict) -> str:
    ratio = 100 * r["colorfulness"] / max(r["colorfulness_gt"], 1e-9)
    cells = [f"{r[k]:.2f}" if k != "false_color" else f"{r[k]:.3f}" for k in COLUMNS[:-1]]
    return f"| {name} | " + " | ".join(cells) + f" | {r['colorfulness']:.2f} ({ratio:.0f}%) |"


def table(folder: Path, set_name: str, models: list[str]) -> str:
    head = "| model | CIEDE2000 | acc2 | acc5 | PSNR | false colour % | colourfulness (% of GT) |"
    lines = [f"**{SETS[set_name]}**", "", head, "|" + "---|" * 7]
    first = None
    for model in models:
        path = folder / f"{model}-{set_name}.json"
        if not path.is_file():
            lines.append(f"| {model} | (not run) |")
            continue
        body = json.loads(path.read_text())
        first = first or body
        lines.append(row(model, body["rows"]["model"]))
    if first:
        for ref in ("gray", "mean_chroma"):
            lines.append(row(f"`{ref}`", first["rows"][ref]))
        gt = first["rows"]["gray"]["colorfulness_gt"]
        lines.append(f"\nGround-truth colourfulness {gt:.2f}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    print("\n\n".join(table(args.folder, s, args.models) for s in SETS))


if __name__ == "__main__":
    main()
