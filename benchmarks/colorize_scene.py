"""Scene colorization on a large georeferenced mosaic of real AID images: throughput, peak
RSS, model FLOPs and achieved GFLOP/s against this machine's fp32 matmul peak.

    python benchmarks/colorize_scene.py --data data/AID --sizes 2048 8192 \\
        --backends torch-nchw torch onnx --json bench.json

Each size gets a single-band 8-bit GeoTIFF (EPSG:32633, 2.4 m pixels, a nodata collar on
its left 3%) tiled from AID images reduced to their luminance. Each (size, backend) runs in
a fresh process, so its peak RSS (VmHWM of that process) is its own; the process imports
torch, onnxruntime and GDAL (that baseline is in the figure). The ONNX model is exported
once beforehand (export time is not counted).

Model: --checkpoint, else the shipped model (src/rscolor/weights/default.pt), else a
random-init model of configs/cpu/jsdcgan.yaml (the same network, so the same cost).

FLOPs: torch.utils.flop_counter on one batch of tiles (2 x multiply-adds), times the tiles
the run computed; "GFLOP/Mpx" is per input megapixel, so it includes the tile overlap and
the working scale. Peak: the best of several 4096^3 fp32 torch matmuls on the same threads.

    python benchmarks/colorize_scene.py --data data/AID --figure out.png

makes the artifact figure instead: one AID image at 4x its pixel count (a scene at the
original AID resolution), colorized as one whole-image pass, with tiles at the training
size blended over a quarter tile, with the default tiles, and with the default tiles at
--scale 0.25 (the model's own ground sampling distance).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
CPU_CONFIG = REPO / "configs" / "cpu" / "jsdcgan.yaml"
PIXEL_M = 2.4
COLLAR = 0.03
AID_PX = 150


# ------------------------------------------------------------------------- inputs
def pick_model(checkpoint: str | None, workdir: Path) -> tuple[Path, str]:
    """A .pt the child processes can load, and how it was chosen."""
    if checkpoint:
        return Path(checkpoint), f"--checkpoint {checkpoint}"
    shipped = REPO / "src" / "rscolor" / "weights" / "default.pt"
    if shipped.is_file():
        return shipped, "the shipped model (src/rscolor/weights/default.pt)"
    from rscolor.experiment import load_config
    from rscolor.modelfile import inference_payload, save_checkpoint
    from rscolor.models import build_generator

    torch.manual_seed(0)
    cfg = load_config(CPU_CONFIG)
    path = workdir / "random-cpu.pt"
    meta = {"train_size": cfg.data.crop_size, "method": cfg.method}
    save_checkpoint(path, inference_payload(build_generator(cfg), cfg, meta))
    return path, "random-init configs/cpu/jsdcgan.yaml (no shipped model; same cost)"


def aid_gray(files: list[Path], index: int) -> np.ndarray:
    from rscolor.color import rgb_luminance_gray
    from rscolor.data.images import read_rgb

    rgb = read_rgb(files[index % len(files)])
    if rgb.shape[:2] != (AID_PX, AID_PX):
        rgb = rgb[:AID_PX, :AID_PX]
    return rgb_luminance_gray(rgb)


def build_scene(path: Path, size: int, files: list[Path], seed: int = 0) -> Path:
    """size x size uint8 GeoTIFF mosaic of AID luminance, written a strip at a time."""
    import rasterio

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    per_row = -(-size // AID_PX)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8",
        "crs": "EPSG:32633", "transform": rasterio.Affine(PIXEL_M, 0, 500000, 0, -PIXEL_M, 4500000),
        "nodata": 0, "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
    }  # fmt: skip
    collar = int(COLLAR * size)
    k = 0
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, size, AID_PX):
            strip = np.concatenate(
                [aid_gray(files, int(order[(k + i) % len(order)])) for i in range(per_row)], 1
            )
            k += per_row
            h = min(AID_PX, size - top)
            data = np.clip(np.round(strip[:h, :size] * 255), 1, 255).astype(np.uint8)
            data[:, :collar] = 0
            dst.write(data, 1, window=rasterio.windows.Window(0, top, size, h))
    return path


def aid_files(root: Path) -> list[Path]:
    from rscolor.data.images import find_images

    files = find_images(root)
    if not files:
        raise SystemExit(f"no images under {root}")
    return files


# ----------------------------------------------------------------------- measures
def matmul_peak(threads: int, n: int = 4096, reps: int = 5) -> dict[str, float]:
    """Best fp32 GFLOP/s of n^3 matmuls on `threads` threads, by torch (MKL) and by ONNX
    Runtime (MLAS). On AMD CPUs MKL may not use the widest vector units, so the larger of
    the two is the machine's measured peak."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    def best_of(run) -> float:
        run()
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        return 2 * n**3 / best / 1e9

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    peaks = {"torch": best_of(lambda: a @ b)}
    spec = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ABC"]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["C"])], "mm", spec[:2], spec[2:]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    feed = {"A": a.numpy(), "B": b.numpy()}
    peaks["onnxruntime"] = best_of(lambda: session.run(None, feed))
    peaks["peak"] = max(peaks.values())
    return peaks


def tile_flops(checkpoint: Path, tile_shape: tuple[int, int], batch: int) -> float:
    """FLOPs of the model on one (padded) tile."""
    from torch.utils.flop_counter import FlopCounterMode

    from rscolor.inference.colorizer import load_colorizer, pad_to_multiple

    col = load_colorizer(checkpoint, "cpu")
    lum, _ = pad_to_multiple(torch.zeros(batch, 1, *tile_shape), col.size_multiple)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        col.generator(lum)
    return counter.get_total_flops() / batch


# ------------------------------------------------------------------------ runs
def plain_nchw(predictor: Any) -> None:
    """Make the torch backend plain eager NCHW: weights and inputs in the default memory
    format (a 1-channel batch sliced from numpy has channel stride 1, which PyTorch reads
    as channels-last and follows through every layer)."""
    predictor.generator.to(memory_format=torch.contiguous_format)
    predict = predictor.predict_batch
    predictor.predict_batch = lambda lum: predict(torch.empty(lum.shape).copy_(lum))


def no_model(predictor: Any) -> None:
    """Replace the network by zeros: the pipeline alone (I/O, resampling, blending,
    merging), to measure its overhead and its memory on scenes too large to run the
    model on here."""
    predictor.runner.generator = None  # its weights freed
    predictor.predict_batch = lambda lum: torch.zeros(lum.shape[0], 2, *lum.shape[-2:])


def child(spec: dict[str, Any]) -> None:
    """One colorize run in this (fresh) process; prints its report as JSON."""
    from rscolor.inference.onnx_backend import load_backend
    from rscolor.scene.output import colorize_raster
    from rscolor.scene.pipeline import SceneOptions

    if spec["keep_freed_memory"]:
        from rscolor.utils.memory import keep_freed_memory

        keep_freed_memory()
    threads = spec["threads"]
    torch.set_num_threads(threads)
    backend = spec["backend"]
    predictor = load_backend(
        spec["model"], {"none": "torch"}.get(backend, backend.removesuffix("-nchw")), "cpu", threads
    )
    if backend == "torch-nchw":
        plain_nchw(predictor)
    if backend == "none":
        no_model(predictor)
    options = SceneOptions(
        scale=spec["scale"],
        tile=spec["tile"],
        overlap=spec["overlap"],
        batch=spec["batch"],
        progress=False,
    )
    report = colorize_raster(
        predictor, spec["scene"], spec["out"], options, force=True, threads=threads
    )
    print(json.dumps({**report.to_dict(), "peak_rss_mib": peak_rss_mib()}))


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM, not getrusage: ru_maxrss survives exec, so a child
    would report its parent's peak when that was higher."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(spec: dict[str, Any]) -> tuple[dict[str, Any], float, float]:
    """(report, peak RSS in MiB, wall seconds) of a run in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}): {spec}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report, report["peak_rss_mib"], time.perf_counter() - start


def check_output(scene: Path, out: Path) -> None:
    import rasterio

    with rasterio.open(scene) as a, rasterio.open(out) as b:
        assert (a.crs, a.transform, a.nodata) == (b.crs, b.transform, b.nodata), "georeference lost"


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    model, model_note = pick_model(args.checkpoint, workdir)
    onnx_model = workdir / "model.onnx"
    if "onnx" in args.backends:
        from rscolor.inference.colorizer import load_colorizer
        from rscolor.inference.onnx_backend import export_onnx

        export_onnx(load_colorizer(model, "cpu"), onnx_model)
    files = aid_files(Path(args.data))
    peaks = matmul_peak(args.threads)
    peak = peaks["peak"]
    rows = []
    for size in args.sizes:
        scene = build_scene(workdir / f"scene{size}.tif", size, files)
        for backend in args.backends:
            spec = {
                "model": str(onnx_model if backend == "onnx" else model), "backend": backend,
                "scene": str(scene), "out": str(workdir / f"out{size}-{backend}.tif"),
                "threads": args.threads, "scale": args.scale, "tile": args.tile,
                "overlap": args.overlap, "batch": args.batch,
                "keep_freed_memory": args.keep_freed_memory,
            }  # fmt: skip
            report, rss, wall = run_child(spec)
            check_output(scene, Path(spec["out"]))
            flops = 0.0 if backend == "none" else tile_flops(model, tuple(report["tile_shape"]), 1)
            flops *= report["tiles_run"]
            mpx = size * size / 1e6
            rows.append({
                "size": size, "backend": backend, "mpx": mpx, "seconds": report["seconds"],
                "mpx_per_s": mpx / report["seconds"], "peak_rss_mib": rss, "process_seconds": wall,
                "gflop_per_mpx": flops / 1e9 / mpx, "gflops": flops / 1e9 / report["seconds"],
                "gflops_in_model": flops / 1e9 / max(report["predict_seconds"], 1e-9),
                "scale": report["scale"], "tile": report["tile"], "overlap": report["overlap"],
                "tiles": report["tiles_run"],
            })  # fmt: skip
            print(format_row(rows[-1], peak), flush=True)
    return {
        "model": model_note, "threads": args.threads, "matmul_peak_gflops": peak,
        "matmul_gflops": peaks, "rows": rows,
    }  # fmt: skip


HEADER = (
    "| size | backend | Mpx/s | peak RSS MiB | GFLOP/Mpx | GFLOP/s (whole run) "
    "| GFLOP/s (model calls) | % of matmul peak (whole / model) |\n"
    "|---|---|---|---|---|---|---|---|"
)


def format_row(row: dict[str, Any], peak: float) -> str:
    return (
        f"| {row['size']}^2 | {row['backend']} | {row['mpx_per_s']:.2f} "
        f"| {row['peak_rss_mib']:.0f} "
        f"| {row['gflop_per_mpx']:.1f} | {row['gflops']:.1f} | {row['gflops_in_model']:.1f} "
        f"| {100 * row['gflops'] / peak:.0f}% / {100 * row['gflops_in_model'] / peak:.0f}% |"
    )


def summary(result: dict[str, Any]) -> str:
    peak = result["matmul_peak_gflops"]
    mm = result["matmul_gflops"]
    lines = [
        f"model: {result['model']}; threads: {result['threads']}; fp32 matmul peak: "
        f"{peak:.1f} GFLOP/s (torch {mm['torch']:.1f}, onnxruntime {mm['onnxruntime']:.1f})",
        HEADER,
        *(format_row(r, peak) for r in result["rows"]),
    ]
    by = {(r["size"], r["backend"]): r for r in result["rows"]}
    for size in sorted({r["size"] for r in result["rows"]}):
        for base in ("torch-nchw", "torch"):
            if (size, base) in by and (size, "onnx") in by:
                ratio = by[size, "onnx"]["mpx_per_s"] / by[size, base]["mpx_per_s"]
                lines.append(f"{size}^2: onnx / {base} throughput = {ratio:.2f}x")
    return "\n".join(lines)


# ------------------------------------------------------------------------ figure
def enlarged_aid(path: Path, factor: int = 4) -> np.ndarray:
    """An AID image's luminance at `factor` x its pixels (a scene at a finer GSD)."""
    from PIL import Image

    gray = aid_gray([path], 0)
    size = factor * AID_PX
    return np.asarray(Image.fromarray(gray).resize((size, size), Image.BICUBIC)).clip(0, 1)


def tiling_table(col: Any, files: list[Path], n_images: int) -> str:
    """How far each tiling recipe is from a whole-image pass, on AID images enlarged 4x:
    mean |delta ab| and the worst column/row of the mean-|ab| profile (a tile grid shows
    up there as periodic peaks)."""
    from rscolor.color import rgb_to_lab
    from rscolor.scene.pipeline import SceneOptions, colorize_array

    t = col.train_size
    recipes = {
        "tiles at the training size, 1/4 overlap": SceneOptions(tile=t, overlap=t // 4, margin=0),
        "tiles at the training size, 3/8 overlap, 1/8 margin": SceneOptions(tile=t),
        "default: 2x tiles, 3/8 overlap, 1/8 margin": SceneOptions(),
    }
    picks = files[:: max(1, len(files) // n_images)][:n_images]
    images = [enlarged_aid(f) for f in picks]
    whole = [rgb_to_lab(col.colorize(g))[..., 1:] for g in images]
    lines = [
        "| recipe | model px per input px | mean abs delta ab | worst profile delta ab |",
        "|---|---|---|---|",
    ]
    for name, opts in recipes.items():
        opts.progress = False
        errs, peaks, cost = [], [], []
        for gray, ref in zip(images, whole, strict=True):
            ab = rgb_to_lab(colorize_array(col, gray, opts) / 255.0)[..., 1:]
            errs.append(np.linalg.norm(ab - ref, axis=-1).mean())
            mag, ref_mag = np.linalg.norm(ab, axis=-1), np.linalg.norm(ref, axis=-1)
            inner = slice(32, -32)  # the border differs anyway: the whole pass pads it
            peaks.append(
                max(
                    np.abs(mag.mean(0) - ref_mag.mean(0))[inner].max(),
                    np.abs(mag.mean(1) - ref_mag.mean(1))[inner].max(),
                )
            )
            cost.append(tile_cost(col, gray.shape, opts))
        lines.append(
            f"| {name} | {np.mean(cost):.2f} | {np.mean(errs):.2f} | {np.mean(peaks):.2f} |"
        )
    return "\n".join(lines)


def tile_cost(col: Any, shape: tuple[int, int], opts: Any) -> float:
    """Pixels the model computes per input pixel (the price of the overlap)."""
    from rscolor.scene.pipeline import plan_grid

    grid = plan_grid(col, opts, *shape)
    return grid.count * grid.tile_h * grid.tile_w / (shape[0] * shape[1])


def blob_figure(args: argparse.Namespace, workdir: Path) -> None:
    """Whole-image pass vs the default tiles vs tiles at --scale 0.25, on one AID image
    enlarged 4x (a scene at the original AID resolution)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rscolor.color import rgb_to_lab
    from rscolor.inference.colorizer import load_colorizer
    from rscolor.scene.pipeline import SceneOptions, colorize_array

    model, model_note = pick_model(args.checkpoint, workdir)
    col = load_colorizer(model, "cpu")
    torch.set_num_threads(args.threads)
    files = aid_files(Path(args.data))
    pick = [f for f in files if args.figure_image in f.name] or files[:1]
    big = enlarged_aid(pick[0])
    size = big.shape[0]
    quarter = SceneOptions(
        tile=col.train_size, overlap=col.train_size // 4, margin=0, progress=False
    )
    panels = {
        "input (AID image at 4x its pixels)": np.repeat(big[..., None], 3, -1),
        "one whole-image pass": col.colorize(big),
        "tiles at the training size, 1/4 overlap": colorize_array(col, big, quarter) / 255.0,
        "default tiles (2x, 3/8 overlap, 1/8 margin)": colorize_array(col, big) / 255.0,
        "default tiles at --scale 0.25": colorize_array(
            col, big, SceneOptions(scale=0.25, progress=False)
        )
        / 255.0,
    }
    fig, axes = plt.subplots(2, len(panels), figsize=(4 * len(panels), 8.4))
    for i, (title, rgb) in enumerate(panels.items()):
        chroma = np.linalg.norm(rgb_to_lab(rgb)[..., 1:], axis=-1)
        axes[0, i].imshow(rgb)
        axes[0, i].set_title(title, fontsize=10)
        axes[1, i].imshow(chroma, cmap="magma", vmin=0, vmax=40)
        axes[1, i].set_title(f"chroma |ab| (mean {chroma.mean():.1f})", fontsize=10)
        print(f"{title}: mean chroma {chroma.mean():.2f}")
    for ax in axes.ravel():
        ax.axis("off")
    meta = col.meta
    score = (
        f", val {meta.select_metric} {meta.best_score:.2f}" if meta.best_score is not None else ""
    )
    fig.suptitle(f"{pick[0].name}, {size} px; model: {model_note}{score}", fontsize=10)
    fig.tight_layout()
    Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.figure, dpi=80)
    print(f"wrote {args.figure}")
    print(tiling_table(col, files, args.figure_images))


# -------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(REPO / "data" / "AID"))
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["torch-nchw", "torch", "onnx"],
        choices=["torch-nchw", "torch", "onnx", "none"],
        help="torch-nchw is plain eager torch; torch is rscolor's torch backend (NHWC); "
        "none runs the pipeline without the network (memory and overhead only).",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="malloc keeps freed memory in each run (rscolor.utils.memory; glibc only)",
    )
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--tile", type=int, default=None)
    parser.add_argument("--overlap", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--json", default=None, help="Also write the results here.")
    parser.add_argument("--workdir", default=None, help="Keep scenes and outputs here.")
    parser.add_argument("--figure", default=None, help="Make the blob figure instead.")
    parser.add_argument("--figure-image", default="meadow_1.jpg")
    parser.add_argument("--figure-images", type=int, default=12, help="Images in its table.")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    with tempfile.TemporaryDirectory(prefix="rscolor-bench-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.figure:
            blob_figure(args, workdir)
            return
        result = benchmark(args, workdir)
    print(summary(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
