"""Atomic checkpoints of SER and SE training: ``checkpoints/epoch<N>.pt`` (full training state)
and ``best.pt``; :func:`epochs` finds the ones to resume from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.io import atomic_write

EPOCH_RE = re.compile(r"^epoch(\d+)\.pt$")


def save(path: str | Path, state: dict[str, Any]) -> None:
    import torch

    with atomic_write(path, "wb") as f:
        torch.save(state, f)


def load(path: str | Path) -> dict[str, Any]:
    import torch

    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: checkpoint not found")
    return torch.load(path, map_location="cpu", weights_only=False)


def epochs(ckpt_dir: str | Path) -> list[int]:
    """Epoch numbers of the ``epoch<N>.pt`` files in ``ckpt_dir``, ascending."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = (EPOCH_RE.match(p.name) for p in ckpt_dir.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def prune(ckpt_dir: str | Path, keep: int) -> None:
    """Remove all but the ``keep`` newest epoch checkpoints."""
    for epoch in epochs(ckpt_dir)[:-keep]:
        (Path(ckpt_dir) / f"epoch{epoch}.pt").unlink()
