"""The two decisions benchmarks/gpu_ship_job.sh makes from what it measured.

    python benchmarks/gpu_ship_plan.py epochs --probe probe.json \\
        --manifest data/packed-aid-nwpu/split.json --train-s 400
    python benchmarks/gpu_ship_plan.py export-args calibration.json

`epochs`: how many epochs of the training split fit in --train-s seconds, from a throughput
probe (benchmarks/train_throughput.py --json: training steps on random tensors, data loading
left out) discounted by --efficiency, plus --val-s per epoch (validation, checkpoints, the
history plot) after --start-s of start-up (the training images' mean colour, loader
workers, the first decodes). Prints the number and, on stderr, the estimate.

`export-args`: the `rscolor export` options of a calibration (`rscolor calibrate --out`):
``--saturation GAIN --max-chroma CAP`` of its chosen row ("gain G", "gain G cap C"; without
a cap, the training pixels' percentile the calibration scored every row with). A
calibration that chose no row (none within its false-colour limit): saturation 1, with the
percentile cap.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def images_per_s(probe: Path) -> float:
    """The probe's training images/s (its one row)."""
    rows = json.loads(probe.read_text())["rows"]
    return float(rows[0]["images_per_s"])


def train_images(manifest: Path) -> int:
    return len(json.loads(manifest.read_text())["train"])


def fit_epochs(args: argparse.Namespace) -> int:
    """The number of whole epochs that fit, within [--min, --max]."""
    rate = images_per_s(args.probe) * args.efficiency
    epoch_s = train_images(args.manifest) / rate + args.val_s
    fit = math.floor((args.train_s - args.start_s) / epoch_s)
    epochs = max(args.min, min(args.max, fit))
    print(
        f"probe {rate / args.efficiency:.0f} images/s x {args.efficiency:g} -> "
        f"{epoch_s:.1f} s per epoch: {fit} epochs fit in {args.train_s:g} - "
        f"{args.start_s:g} s; training {epochs}",
        file=sys.stderr,
    )
    return epochs


def export_args(calibration: Path) -> list[str]:
    """--saturation and --max-chroma of the calibration's chosen row."""
    body = json.loads(calibration.read_text())
    chosen = body.get("chosen")
    if chosen is None:  # no row passed the false-colour limit
        print(f"{calibration}: no row chosen; saturation 1", file=sys.stderr)
        chosen = "gain 1"
    words = chosen.split()
    fields = dict(zip(words[::2], words[1::2], strict=False))
    if "gain" not in fields or "curve" in fields:
        raise SystemExit(f"{calibration}: chosen row {chosen!r} is not 'gain G [cap C]'")
    cap = fields.get("cap", body.get("max_chroma"))
    out = ["--saturation", fields["gain"]]
    return out + (["--max-chroma", f"{float(cap):.2f}"] if cap is not None else [])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("epochs", help="epochs that fit in the training time")
    e.add_argument("--probe", type=Path, required=True, help="train_throughput.py --json")
    e.add_argument("--manifest", type=Path, required=True, help="the data's split.json")
    e.add_argument("--train-s", type=float, required=True, help="seconds for training")
    e.add_argument("--start-s", type=float, default=60.0, help="start-up seconds")
    e.add_argument("--val-s", type=float, default=8.0, help="seconds per epoch besides steps")
    e.add_argument("--efficiency", type=float, default=0.75, help="real / probe images/s")
    e.add_argument("--min", type=int, default=4, help="at least this many epochs")
    e.add_argument("--max", type=int, default=200, help="at most this many epochs")
    x = sub.add_parser("export-args", help="rscolor export options of a calibration")
    x.add_argument("calibration", type=Path)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "epochs":
        print(fit_epochs(args))
    else:
        print(" ".join(export_args(args.calibration)))


if __name__ == "__main__":
    main()
