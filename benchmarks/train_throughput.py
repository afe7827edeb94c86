"""Training throughput: images per second of one full training step for each method.

A step is what `rscolor train` runs per batch (`training.step.GanStep`): generator forward,
discriminator update, generator update with cGAN + L1 loss, on random tensors already on
the device (data loading is left out: it overlaps with compute in DataLoader workers).
Each method is its benchmark-suite config, configs/<scale>/<method>.yaml (the methods of
`rscolor benchmark --suite all`), with --size / --ngf / --batch applied to all of them
alike, so the Joint Stream rows sit next to the pix2pix U-Net rows at the same width.
Warm-up steps are not timed; on CUDA the clock stops after a synchronize. One more
untimed step is counted with torch's FLOP counter (machine-independent cost).

    python benchmarks/train_throughput.py --scale paper --device cuda --amp bf16
    python benchmarks/train_throughput.py --scale cpu --device cpu --threads 2
    python benchmarks/train_throughput.py --scale cpu --device cpu --threads 2 --keep-freed-memory

The issue's target: the joint stream (two streams) costs at most 1.6x the single-stream
time per image; the ratios printed at the end compare the "Joint stream" and the full
JS-DCGAN rows with the "Single stream" ablation row (same discriminator and losses).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from rscolor.experiment import load_config
from rscolor.inference.colorizer import pick_device
from rscolor.models.blocks import count_parameters
from rscolor.suites.methods import Method, resolve_configs_dir, suites_for, unique_methods
from rscolor.training.step import GanStep
from rscolor.utils.io import atomic_write_text
from rscolor.utils.memory import keep_freed_memory

SINGLE_STREAM = "ablation-single"
JOINT = ("ablation-joint", "jsdcgan")
TARGET_RATIO = 1.6
METHODS: dict[str, Method] = {m.key: m for m in unique_methods(suites_for("all"))}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=["paper", "cpu"], default="paper", help="config set")
    p.add_argument("--configs", type=Path, default=None, help="configs folder (default: found)")
    p.add_argument("--size", type=int, default=None, help="training crop (default: config's)")
    p.add_argument("--ngf", type=int, default=None, help="width of G and D (default: config's)")
    p.add_argument(
        "--depth",
        type=int,
        default=None,
        help="U-Net levels (default: config's, at most log2(size))",
    )
    p.add_argument("--batch", type=int, default=None, help="batch (default: config's)")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", choices=["off", "bf16", "fp16"], default="off")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--steps", type=int, default=10, help="timed steps per method")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="malloc keeps freed memory, as `rscolor train` has it (train.keep_freed_memory)",
    )
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    unknown = [m for m in args.methods.split(",") if m not in METHODS]
    if unknown:
        p.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    return args


def method_config(args: argparse.Namespace, name: str):
    path = METHODS[name].config_path(resolve_configs_dir(args.configs), args.scale)
    base = load_config(path)
    generator: dict[str, Any] = {}
    if args.ngf:
        generator["ngf"] = args.ngf
    if args.depth or args.size:
        limit = int(math.log2(args.size)) if args.size else base.generator.depth
        generator["depth"] = args.depth or min(base.generator.depth, limit)
    overrides: dict[str, Any] = {
        "data": {"num_workers": 0, **({"crop_size": args.size} if args.size else {})},
        "generator": generator,
        "discriminator": {"ndf": args.ngf} if args.ngf else {},
        "train": {
            "device": args.device,
            "amp": args.amp,
            "channels_last": args.channels_last,
            "compile": args.compile,
            **({"batch_size": args.batch} if args.batch else {}),
        },
    }
    return load_config(path, overrides)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(args: argparse.Namespace, name: str) -> dict[str, Any]:
    cfg = method_config(args, name)
    torch.manual_seed(0)
    step = GanStep.build(cfg, pick_device(cfg.train.device))
    step.train_mode()
    device = step.device
    channels = 3 if cfg.color_space == "rgb" else 2
    batch, size = cfg.train.batch_size, cfg.data.crop_size
    lum = torch.rand(batch, 1, size, size, device=device) * 2 - 1
    target = torch.rand(batch, channels, size, size, device=device) * 2 - 1
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    # One step counts as one epoch here (batches_per_epoch 1): the timed steps are past
    # the configs' adversarial warm-up (loss.adv_warmup_epochs) when --warmup covers it.
    global_step = 0
    for _ in range(args.warmup):
        step(lum, target, global_step)
        global_step += 1
    with FlopCounterMode(display=False) as flops:  # one more untimed step, counted
        step(lum, target, global_step)
        global_step += 1
    sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step(lum, target, global_step)
        global_step += 1
    sync(device)
    seconds = time.perf_counter() - start
    row = {
        "method": name,
        "label": METHODS[name].label,
        "size": size,
        "ngf": cfg.generator.ngf,
        "depth": cfg.generator.depth,
        "batch": batch,
        "generator": cfg.generator.name,
        "discriminator": cfg.discriminator.name if step.d_raw is not None else None,
        "g_params_m": count_parameters(step.g_raw) / 1e6,
        "gflop_per_image": flops.get_total_flops() / batch / 1e9,
        "images_per_s": batch * args.steps / seconds,
        "ms_per_image": 1000 * seconds / (batch * args.steps),
        "peak_gpu_gib": (
            torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
        ),
    }
    del step
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def device_name(device: str) -> str:
    dev = pick_device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def table(rows: list[dict[str, Any]]) -> str:
    ref = {r["method"]: r for r in rows}.get(SINGLE_STREAM)
    lines = [
        "| method | config | generator | discriminator | size/ngf/depth/batch | G params (M) | "
        "GFLOP/image | images/s | ms/image | x single stream (time) | x single stream (FLOP) "
        "| peak GPU GiB |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        time_x = f"{r['ms_per_image'] / ref['ms_per_image']:.2f}" if ref else "-"
        flop_x = f"{r['gflop_per_image'] / ref['gflop_per_image']:.2f}" if ref else "-"
        mem = f"{r['peak_gpu_gib']:.2f}" if r["peak_gpu_gib"] is not None else "-"
        lines.append(
            f"| {r['label']} | {r['method']} | {r['generator']} | {r['discriminator'] or '-'} | "
            f"{r['size']}/{r['ngf']}/{r['depth']}/{r['batch']} | "
            f"{r['g_params_m']:.2f} | {r['gflop_per_image']:.3g} | {r['images_per_s']:.2f} | "
            f"{r['ms_per_image']:.1f} | {time_x} | {flop_x} | {mem} |"
        )
    return "\n".join(lines)


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    by = {r["method"]: r for r in rows}
    if SINGLE_STREAM not in by:
        return []
    ref, out = by[SINGLE_STREAM], []
    for name in JOINT:
        if name in by:
            r = by[name]["ms_per_image"] / ref["ms_per_image"]
            f = by[name]["gflop_per_image"] / ref["gflop_per_image"]
            verdict = "within" if r <= TARGET_RATIO else "OVER"
            out.append(
                f"{by[name]['label']} / single stream time per image: {r:.2f}x "
                f"({verdict} the {TARGET_RATIO}x target); FLOP per image: {f:.2f}x"
            )
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.keep_freed_memory and not keep_freed_memory():
        sys.exit("--keep-freed-memory: needs Linux with glibc's malloc")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True  # as `rscolor train` (not deterministic) does
    names = args.methods.split(",")
    header = (
        f"training throughput: configs/{args.scale}/*.yaml, size {args.size or 'config'}, "
        f"ngf {args.ngf or 'config'}, batch {args.batch or 'config'}, "
        f"amp {args.amp}, channels_last {args.channels_last}, compile {args.compile}, "
        f"{args.steps} timed steps after {args.warmup} warm-up; "
        f"device: {device_name(args.device)}; torch {torch.__version__}"
    )
    print(header, flush=True)
    rows = []
    for name in names:
        rows.append(measure(args, name))
        print(f"  {name}: {rows[-1]['images_per_s']:.2f} images/s", flush=True)
    print()
    print(table(rows))
    for line in ratios(rows):
        print(line)
    if args.json:
        payload = {"header": header, "argv": sys.argv, "rows": rows, "ratios": ratios(rows)}
        atomic_write_text(args.json, json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
