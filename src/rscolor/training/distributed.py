"""Process-group set-up for ``torchrun`` (one code path for 1 or N processes).

``torchrun --nproc_per_node N -m rscolor train ...`` sets WORLD_SIZE, RANK and LOCAL_RANK
(and MASTER_ADDR / MASTER_PORT, for several nodes too); a plain ``rscolor train`` sets
none of them and runs as a world of one, with every collective below a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from rscolor.errors import UserError
from rscolor.utils.device import pick_device

# Rank 0 validates alone at the end of each epoch while the others wait at a barrier;
# the default collective timeout (10-30 min) can be too short for a large val split on CPU.
TIMEOUT = timedelta(hours=2)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def world_from_env() -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def init_distributed(device_name: str) -> tuple[DistInfo, torch.device]:
    """Join the process group torchrun describes, if any.

    NCCL on CUDA, gloo on CPU. Each process takes GPU `LOCAL_RANK`.
    """
    info = world_from_env()
    device = pick_device(device_name)
    if not info.enabled:
        return info, device
    if device.type == "cuda":
        if info.local_rank >= torch.cuda.device_count():
            raise UserError(
                f"local rank {info.local_rank} has no GPU ({torch.cuda.device_count()} visible): "
                "use --nproc_per_node <= the number of GPUs"
            )
        torch.cuda.set_device(info.local_rank)
        device = torch.device("cuda", info.local_rank)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)
    return info, device


def check_norm(norms: list[str], info: DistInfo, device: torch.device) -> None:
    """SyncBatchNorm needs an accelerator: torch raises on CPU tensors once a group exists."""
    if info.enabled and device.type == "cpu" and "syncbatch" in norms:
        raise UserError(
            "norm 'syncbatch' needs CUDA (torch's SyncBatchNorm does not run on CPU); "
            "use 'instance', or 'batch' (per-process batch statistics) for CPU training"
        )


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def any_true(info: DistInfo, flag: bool, device: torch.device) -> bool:
    """True on every rank when `flag` is true on any rank (used to stop all ranks together)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


def broadcast_buffers(info: DistInfo, module: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank.

    DDP does this at the start of each forward; doing it once more at the end of an epoch
    makes every rank hold the same model as the one rank 0 validates and saves.
    """
    if not info.enabled:
        return
    for buf in module.buffers():
        dist.broadcast(buf.data, 0)


def all_gather(info: DistInfo, obj: Any) -> list[Any]:
    """Every rank's `obj`, in rank order (a list of one without a process group)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
