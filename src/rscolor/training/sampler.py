"""An epoch-seeded, sharded, resumable sampler.

Like ``DistributedSampler``, each epoch is a permutation seeded by (seed, epoch), cut into
one shard per rank; unlike it, it can start part-way through an epoch, so a run resumed
from a mid-epoch checkpoint sees exactly the batches the killed run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler[tuple[int, int]]):
    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        max_batches: int | None = None,
    ) -> None:
        self.size, self.batch_size, self.max_batches = size, batch_size, max_batches
        self.seed, self.rank, self.world = seed, rank, world
        self.epoch = 0
        self.start_batch = 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def shard(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.size, generator=g).tolist()
        per_rank = len(order) // self.world  # drop the remainder: equal work per rank
        mine = order[self.rank * per_rank : (self.rank + 1) * per_rank]
        batches = len(mine) // self.batch_size  # whole batches only
        if self.max_batches is not None:
            batches = min(batches, self.max_batches)
        return mine[: batches * self.batch_size]

    def batches_per_epoch(self) -> int:
        return len(self.shard()) // self.batch_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """Yields (epoch, index): the dataset seeds its random crop with both, so crops
        are right even in persistent DataLoader workers that never see set_epoch."""
        return iter((self.epoch, i) for i in self.shard()[self.start_batch * self.batch_size :])

    def __len__(self) -> int:
        return max(0, len(self.shard()) - self.start_batch * self.batch_size)
