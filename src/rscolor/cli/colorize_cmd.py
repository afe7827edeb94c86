"""`rscolor colorize`: files or folders in, colour PNGs out (relative paths kept)."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from rscolor.errors import UserError
from rscolor.inference.batch import colorize_file, plan_outputs
from rscolor.inference.colorizer import load_colorizer


def run_colorize(
    inputs: list[Path], out_dir: Path, checkpoint: Path | None, force: bool, device: str
) -> None:
    jobs = plan_outputs(inputs, out_dir, force)
    if not jobs:
        raise UserError("no images found in the given inputs")
    colorizer = load_colorizer(checkpoint, device)
    for src, dst in tqdm(jobs, desc="colorize", disable=len(jobs) < 2):
        colorize_file(colorizer, src, dst)
    print(f"wrote {len(jobs)} image(s) to {out_dir}")
