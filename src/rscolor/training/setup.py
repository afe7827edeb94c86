"""A run's data: the split manifest in the run folder, the training dataset, the
resumable sampler and the DataLoader."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from rscolor.data.dataset import ColorizationDataset
from rscolor.data.images import median_side
from rscolor.data.split import Split, class_of, load_or_make_split
from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig
from rscolor.training import distributed as D
from rscolor.training.sampler import ResumableSampler
from rscolor.utils.sampling import evenly_spaced


def prepare_split(
    run_dir: Path,
    data_root: Path,
    cfg: ExperimentConfig,
    dist: D.DistInfo,
    split_manifest: Path | None = None,
) -> Split:
    """RUN/split.json. Before the first last.pt nothing depends on it: --split-manifest
    replaces it, and one left from other data is remade; after, it must match."""
    manifest = run_dir / "split.json"
    fresh = not (run_dir / "last.pt").exists()
    given = split_manifest is not None and fresh
    if given and dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(split_manifest, manifest)  # type: ignore[arg-type]
    if dist.is_main:
        split = load_or_make_split(
            data_root,
            manifest,
            cfg.data.split_ratios,
            cfg.data.split_seed,
            remake=fresh and not given,
        )
    D.barrier(dist)
    if not dist.is_main:
        split = Split.load(manifest)
    if not split.train:
        raise UserError(f"no training images in {data_root}")
    return split


@dataclass
class TrainData:
    dataset: ColorizationDataset
    sampler: ResumableSampler
    loader: DataLoader
    scene_px: int  # the training scenes' side (data.scene_px, else their median)


def class_labels(files: list[str], classes: list[str] | None) -> list[int] | None:
    """Each file's class index in `classes` (its top folder); None without classes."""
    if not classes:
        return None
    index = {name: i for i, name in enumerate(classes)}
    return [index[class_of(f)] for f in files]


def build_data(
    cfg: ExperimentConfig,
    data_root: Path,
    train_files: list[str],
    dist: D.DistInfo,
    device: torch.device,
    classes: list[str] | None = None,
) -> TrainData:
    """The training data; with `classes`, each item labelled with its class index."""
    # evenly spaced over the class-sorted list, so every class keeps its share
    files = evenly_spaced(train_files, cfg.data.max_train_images)
    dataset = ColorizationDataset(
        data_root,
        files,
        cfg.color_space,
        cfg.data.crop_size,
        train=True,
        hflip=cfg.data.hflip,
        vflip=cfg.data.vflip,
        cache=cfg.data.cache,
        seed=cfg.train.seed,
        rescale=cfg.data.rescale,
        labels=class_labels(files, classes),
    )
    scene_px = cfg.data.scene_px or median_side(data_root, files)
    sampler = ResumableSampler(
        len(dataset),
        cfg.train.batch_size,
        cfg.train.seed,
        dist.rank,
        dist.world_size,
        cfg.train.max_steps_per_epoch,
    )
    if sampler.batches_per_epoch() == 0:
        raise UserError(
            f"{len(dataset)} training images are fewer than one batch of "
            f"{cfg.train.batch_size} per process"
        )
    loader = DataLoader(
        dataset,
        batch_size=cfg.train.batch_size,
        sampler=sampler,
        num_workers=cfg.data.num_workers,
        persistent_workers=cfg.data.num_workers > 0,
        pin_memory=device.type == "cuda",
        # Without its own generator, each new iterator (every epoch, and on resume)
        # draws a seed from the global RNG and shifts the dropout masks that follow.
        generator=torch.Generator().manual_seed(cfg.train.seed),
    )
    return TrainData(dataset, sampler, loader, scene_px)
