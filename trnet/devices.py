"""The one device helper of SER and SE training, decoding and enhancement."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda[:N]``; asking for CUDA where
    there is none is a user error naming ``--device``."""
    import torch

    from trnet.errors import TrnetError

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrnetError(f"--device {name}: CUDA is not available on this machine")
    return torch.device(name)
