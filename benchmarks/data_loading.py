"""Is data loading a bottleneck? Samples per second of the training dataset, first pass
(decode + colour conversion) and cached passes, next to the training step's own rate.

    python benchmarks/data_loading.py --data data/AID --images 1000 --crop 128

The training loop on 2 CPU cores takes about 13 images/s at the CPU config (ngf 32, 128 px);
the loader must be far above that.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader

from rscolor.data.dataset import ColorizationDataset
from rscolor.data.split import make_split
from rscolor.training.sampler import ResumableSampler


def rate(loader: DataLoader, n_images: int) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return n_images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    files = make_split(args.data).train[: args.images]
    dataset = ColorizationDataset(args.data, files, "lab", args.crop, train=True, cache=True)
    sampler = ResumableSampler(len(dataset), args.batch)
    loader = DataLoader(dataset, batch_size=args.batch, sampler=sampler, num_workers=args.workers)
    n = sampler.batches_per_epoch() * args.batch
    cold = rate(loader, n)
    sampler.set_epoch(1)
    warm = rate(loader, n)
    print(f"{len(files)} images, crop {args.crop}, batch {args.batch}, workers {args.workers}")
    print(f"first pass (decode + Lab conversion): {cold:8.1f} images/s")
    print(f"cached passes (crop + flip only):     {warm:8.1f} images/s")


if __name__ == "__main__":
    main()
