"""Which model ships: the model card's rule over two calibrations of the same val images.

    python scripts/ship_decision.py --candidate runs/candidate/calibration-val.json \\
        --shipped docs/results/encoder-long/calibration-val.json

Each file is an `rscolor calibrate --out` of one model. Their rows are pooled (named
"candidate, gain 0.8", "shipped, gain 0.8 cap 32", ...) and `rscolor.inference.calibration
.Rule` chooses one, with the CIEDE2000 limit from the candidate's `mean_chroma` row. The
two must have scored the same images (same count, same `mean_chroma` CIEDE2000), else the
comparison means nothing and the script stops. Prints the chosen row and both models' own
choices; exits 0 whether or not the candidate wins.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from rscolor.inference.calibration import Rows, Rule

REFERENCES = ("gray", "mean_chroma")


def load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"{path}: not a calibration JSON ({err})") from None


def same_images(a: dict, b: dict) -> bool:
    """Both calibrations scored the same val images (count and reference row agree)."""
    ref_a, ref_b = a["rows"]["mean_chroma"], b["rows"]["mean_chroma"]
    return a["images"] == b["images"] and math.isclose(
        ref_a["ciede2000"], ref_b["ciede2000"], rel_tol=1e-6
    )


def pooled(calibrations: dict[str, dict]) -> Rows:
    """Every model row of every calibration, named by its model."""
    return {
        f"{model}, {name}": row
        for model, body in calibrations.items()
        for name, row in body["rows"].items()
        if name not in REFERENCES
    }


def describe(name: str, row: dict[str, float]) -> str:
    pct = 100 * row["colorfulness"] / row["colorfulness_gt"]
    return (
        f"{name}: CIEDE2000 {row['ciede2000']:.3f}, colourfulness {row['colorfulness']:.2f} "
        f"({pct:.0f}% of GT), false colour {row['false_color']:.4f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", type=Path, required=True, help="its calibration JSON")
    parser.add_argument("--shipped", type=Path, required=True, help="its calibration JSON")
    args = parser.parse_args()
    candidate, shipped = load(args.candidate), load(args.shipped)
    if not same_images(candidate, shipped):
        raise SystemExit("the two calibrations scored different val images: rerun one")
    # The shipped model's rows first: on a tie the rule keeps it.
    rows = pooled({"shipped": shipped, "candidate": candidate})
    for model, body in (("candidate", candidate), ("shipped", shipped)):
        own = body.get("chosen")
        print(f"{model}'s own choice: " + (describe(own, body["rows"][own]) if own else "none"))
    rule = Rule()
    chosen = rule.choose(rows, rule.ciede_limit(candidate["rows"]))
    if chosen is None:
        print("no row passes the false-colour limit: keep the shipped model")
        sys.exit(0)
    print("the rule chooses " + describe(chosen, rows[chosen]))
    print("ship the candidate" if chosen.startswith("candidate") else "keep the shipped model")


if __name__ == "__main__":
    main()
