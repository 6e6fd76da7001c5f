"""Clipping: every sample beyond a threshold relative to the utterance's peak set to it."""

from __future__ import annotations

import numpy as np

from trnet.corrupt.corrupted import Corrupted
from trnet.errors import TrnetError


def clip(speech: np.ndarray, threshold: float) -> Corrupted:
    """``speech`` clipped at ``±threshold × max|speech|`` (0 < threshold ≤ 1). Level:
    ``clipped``, the fraction of output samples at the threshold (the realised fraction,
    which depends on the utterance, not only on ``threshold``)."""
    if not 0 < threshold <= 1:
        raise TrnetError(f"clip threshold must be in (0, 1] of the peak, got {threshold}")
    x = np.asarray(speech, dtype=np.float32)
    limit = np.float32(threshold) * np.max(np.abs(x)) if x.size else np.float32(0)
    wave = np.clip(x, -limit, limit)
    at_limit = int(np.count_nonzero(np.abs(wave) == limit)) if limit > 0 else 0
    return Corrupted(wave, {"clipped": at_limit / x.size if x.size else 0.0})


def threshold_for_fraction(speech: np.ndarray, fraction: float) -> float:
    """The relative threshold that clips (about) ``fraction`` of the samples of ``speech``:
    the magnitude of its ``⌈fraction·n⌉``-th largest sample over its peak (ties clip more)."""
    if not 0 < fraction < 1:
        raise TrnetError(f"clip fraction must be in (0, 1), got {fraction}")
    mags = np.sort(np.abs(np.asarray(speech, dtype=np.float32)))
    if mags.size == 0 or mags[-1] == 0:
        return 1.0
    k = max(1, int(np.ceil(fraction * mags.size)))
    return float(mags[-k] / mags[-1])
