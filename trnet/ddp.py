"""DDP setup: one process, or the process group ``torchrun`` describes in the environment
(gloo on CPU, nccl on GPU; each rank on its local GPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trnet.devices import resolve_device

if TYPE_CHECKING:  # torch loads in setup_dist: a process that finds its work done needs none
    import torch


@dataclass
class Dist:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def world_size() -> int:
    """How many processes torchrun started for this run (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup_dist(device: str) -> Dist:
    """Single process, or the process group torchrun describes in the environment."""
    import torch
    import torch.distributed as dist

    world = world_size()
    dev = resolve_device(device)
    if world == 1:
        return Dist(0, 1, dev)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank, world, dev)


def teardown_dist(env: Dist) -> None:
    """Leave the process group of a multi-process run (after its last barrier).

    Left to interpreter exit, the gloo group's destructor can abort a rank whose peer has
    already gone ("terminate called without an active exception", SIGABRT), which failed
    a run that had finished its work.
    """
    if env.world > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
