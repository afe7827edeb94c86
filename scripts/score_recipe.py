"""Score the recipe rows of scripts/recipe_rows.sh on validation images only.

    python scripts/score_recipe.py runs/recipe --out docs/results/recipe

Each run's best.pt is scored at ``--scale auto`` on the AID val split (evenly spaced) and
the NWPU-RESISC45 val split, the same images for every row; rows are the mean and the
spread (half the max - min) over seeds. Nothing here reads a test split.

With ``--chroma`` (issue 21's rows) each run also gets the pooled chroma correlation and
spread on each set (`rscolor.metrics.chroma`, every second pixel). ``--speed`` measures,
again each time it is given (so run it once on a quiet machine), each run's training
images/s (the mean of history.csv's epochs) and its generator's inference speed (MP/s,
one thread, a 512 x 512 input, best of 3):

    python scripts/score_recipe.py RUNS --out docs/results/recipe-encoder --chroma --speed
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

from rscolor.data.split import make_split
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.colorizer import Colorizer, load_colorizer
from rscolor.metrics.catalog import METRICS, known
from rscolor.metrics.evaluate import evaluate_images
from rscolor.utils.io import atomic_write_text
from rscolor.utils.sampling import evenly_spaced

SETS = {"aid_val": ("data/AID", 200), "nwpu_val": ("data/NWPU-RESISC45", 100)}
# The scores kept per set, each checked against the metric table (rscolor.metrics.catalog);
# with --speed also the pooled ones (the chroma correlation and spread).
KEYS = known("ciede2000", "false_color", "colorfulness", "colorfulness_gt", "acc2", "acc5")
CHROMA_KEYS = tuple(m.key for m in METRICS if m.source == "pooled")
SPEED_KEYS = ("train_images_per_s", "inference_mp_per_s")


def speed_of(run: Path, colorizer: Colorizer) -> dict[str, float]:
    """Training images/s (history.csv's mean) and the generator's MP/s on one thread."""
    with open(run / "history.csv", newline="") as f:
        rates = [float(r["train_images_per_s"]) for r in csv.DictReader(f)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    lum = torch.rand(1, 1, 512, 512) * 2 - 1
    times = []
    with torch.inference_mode():
        for _ in range(3):
            started = time.perf_counter()
            colorizer.generator(lum)
            times.append(time.perf_counter() - started)
    torch.set_num_threads(threads)
    return {
        "train_images_per_s": float(np.mean(rates)),
        "inference_mp_per_s": 0.262144 / min(times),
    }


def score_run(
    run: Path, flip_average: bool = False, temperature: float | None = None, chroma: bool = False
) -> dict[str, dict[str, float]]:
    colorizer = load_colorizer(run / "best.pt", "cpu")
    colorizer = colorizer.calibrated(flip_average=flip_average, temperature=temperature)
    scores = {}
    for name, (root, limit) in SETS.items():
        files = evenly_spaced(make_split(root).val, limit)
        result = evaluate_images(
            {"model": rgb_colorizer(colorizer)},
            root,
            files,
            references=False,
            progress=False,
            chroma=chroma,
        )
        keys = KEYS + CHROMA_KEYS if chroma else KEYS
        scores[name] = {k: result.rows["model"][k] for k in keys}
    return scores


def aggregate(runs: dict[str, dict]) -> dict[str, dict]:
    """Row name -> set -> metric -> (mean, spread) over the row's seeds."""
    rows: dict[str, list[dict]] = {}
    for name, scores in sorted(runs.items()):
        rows.setdefault(name.rsplit("-s", 1)[0], []).append(scores)
    out: dict[str, dict] = {}
    for row, seeds in rows.items():
        out[row] = {"seeds": len(seeds)}
        for set_name in SETS:
            out[row][set_name] = {}
            for k in KEYS + CHROMA_KEYS:
                if all(k in s[set_name] for s in seeds):
                    vals = np.array([s[set_name][k] for s in seeds])
                    out[row][set_name][k] = [float(vals.mean()), float(np.ptp(vals) / 2)]
        if all("speed" in s for s in seeds):
            out[row]["speed"] = {
                k: [float(np.mean([s["speed"][k] for s in seeds])), 0.0] for k in SPEED_KEYS
            }
    return out


def speed_markdown(table: dict[str, dict]) -> str:
    """Issue 21's columns: chroma correlation and spread on each set (rows without them are
    left out), and speed ("-" where not measured)."""
    head = (
        "| row | AID corr. | AID spread | NWPU corr. | NWPU spread | train images/s "
        "| inference MP/s |"
    )
    lines = [head, "|" + "---|" * 7]
    for row, r in table.items():
        if any("chroma_corr" not in r[set_name] for set_name in SETS):
            continue
        cells = [row]
        for set_name in SETS:
            s = r[set_name]
            corr, spread = s["chroma_corr"], s["chroma_spread"][0]
            cells += [f"{corr[0]:.3f} ± {corr[1]:.3f}", f"{spread:.2f}"]
        speed = r.get("speed")
        cells += [
            f"{speed['train_images_per_s'][0]:.1f}" if speed else "-",
            f"{speed['inference_mp_per_s'][0]:.3f}" if speed else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(table: dict[str, dict]) -> str:
    head = (
        "| row | seeds | AID val CIEDE2000 | AID false colour % | AID colourfulness % of GT "
        "| NWPU val CIEDE2000 | NWPU false colour % | NWPU colourfulness % of GT |"
    )
    lines = [head, "|" + "---|" * 8]
    for row, r in table.items():
        cells = [row, str(r["seeds"])]
        for set_name in SETS:
            s = r[set_name]
            ratio = 100 * s["colorfulness"][0] / max(s["colorfulness_gt"][0], 1e-9)
            cells += [
                f"{s['ciede2000'][0]:.3f} ± {s['ciede2000'][1]:.3f}",
                f"{s['false_color'][0]:.3f} ± {s['false_color'][1]:.3f}",
                f"{ratio:.0f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/results/recipe"))
    parser.add_argument("--flip-average", action="store_true", help="Score with flip TTA.")
    parser.add_argument("--only", default="", help="Score only runs whose name starts so.")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="Decode 'bins' heads at this annealed-mean temperature (rows named ROW@tT).",
    )
    parser.add_argument(
        "--chroma", action="store_true", help="Also the chroma correlation and spread."
    )
    parser.add_argument(
        "--speed", action="store_true", help="Measure training and inference speed (again)."
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / ("runs-tta.json" if args.flip_average else "runs.json")
    runs = json.loads(cache.read_text()) if cache.is_file() else {}
    done = (p for p in args.runs.iterdir() if (p / "done").is_file())
    for run in sorted(p for p in done if p.name.startswith(args.only)):
        row, seed = run.name.rsplit("-s", 1)
        name = run.name if args.temperature is None else f"{row}@t{args.temperature:g}-s{seed}"
        if name not in runs:
            runs[name] = score_run(run, args.flip_average, args.temperature, args.chroma)
            print(name, json.dumps(runs[name]["aid_val"]), flush=True)
        if args.speed:
            runs[name]["speed"] = speed_of(run, load_colorizer(run / "best.pt", "cpu"))
        atomic_write_text(cache, json.dumps(runs, indent=1))
    table = aggregate(runs)
    suffix = "-tta" if args.flip_average else ""
    atomic_write_text(args.out / f"recipe{suffix}.json", json.dumps(table, indent=1))
    text = markdown(table) + "\n"
    if args.chroma or args.speed:
        text += "\n" + speed_markdown(table) + "\n"
    atomic_write_text(args.out / f"recipe{suffix}.md", text)
    print(text)


if __name__ == "__main__":
    main()
