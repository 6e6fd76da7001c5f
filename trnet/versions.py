"""Versions of the toolkit and the libraries it runs on (``trnet info``, RESULTS.md)."""

from __future__ import annotations

import platform


def environment() -> dict[str, str]:
    """Versions that RESULTS.md records: python, torch, torchaudio, platform."""
    import torch
    import torchaudio

    import trnet

    return {
        "trnet": trnet.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchaudio": torchaudio.__version__,
        "cuda": str(torch.cuda.is_available()),
        "platform": platform.platform(),
    }
