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
    """Tensors and plain containers only (``weights_only``): a ``best.pt`` from elsewhere
    cannot run code when ``trnet decode`` loads it. Everything the trainer saves (RNG states
    are tensors, the history floats) loads this way."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TrnetError(f"{path}: not a trnet checkpoint of weights only ({why})") from None
    if not isinstance(state, dict):
        raise TrnetError(f"{path}: not a trnet checkpoint (no dict inside)")
    return state


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
